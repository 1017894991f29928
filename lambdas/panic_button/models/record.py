"""The remediation record: one per execution, in DynamoDB and in the SNS message."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from panic_button.models.state import Artifact
from panic_button.outcomes import Outcome


class RemediationRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instance_id: str
    execution_id: str
    execution_name: str
    outcome: Outcome
    reason: str
    trigger: str
    alarm_name: str | None = None
    dry_run: bool = False
    platform: str | None = None
    instance_type: str | None = None
    instance_name: str | None = None
    requested_at: datetime
    interrupt_sent_at: datetime | None = None
    recovered_at: datetime | None = None
    collected_at: datetime | None = None
    finished_at: datetime
    seconds_to_interrupt: int | None = None
    seconds_to_recovery: int | None = None
    evidence: list[str] = Field(default_factory=list)
    evidence_errors: list[str] = Field(default_factory=list)
    artifacts: list[Artifact] = Field(default_factory=list)
    triage_summary: list[str] = Field(default_factory=list)
    culprit: str | None = None  # the vmcore analysis' one line (or the log's headline without symbols)
    fallback: str | None = None
    # Approval runs only: who decided (the caller's ARN, or "timeout") and when.
    decided_by: str | None = None
    decided_at: datetime | None = None
