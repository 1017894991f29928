"""The workflow's state document. Step Functions carries it from state to state; each handler reads
the parts it needs through these models and returns one new part (stored at a fixed ResultPath)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from panic_button.models.collection import UploadPlan

INSTANCE_ID_PATTERN = r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$"
ACCOUNT_PATTERN = r"^[0-9]{12}$"
REGION_PATTERN = r"^[a-z]{2}(?:-[a-z]+)+-[0-9]$"

Platform = Literal["linux", "windows"]


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExecutionRef(Part):
    id: str
    name: str = ""

    @field_validator("name", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return value if isinstance(value, str) else ""

    @model_validator(mode="after")
    def _name_from_arn(self) -> ExecutionRef:
        # An execution ARN ends with its name; moto's interpreter leaves $$.Execution.Name empty.
        if not self.name:
            self.name = self.id.rsplit(":", 1)[-1]
        return self


class Target(Part):
    instance_id: str = Field(pattern=INSTANCE_ID_PATTERN)
    reason: str
    dry_run: bool
    trigger: Literal["alarm", "manual"]
    alarm_name: str | None = None
    requested_at: datetime
    # Where the instance lives: the alarm event's account and Region, or the manual input's. None: this
    # account and Region (an organization hub reaches others through their member role, aws.target_clients).
    account: str | None = Field(None, pattern=ACCOUNT_PATTERN)
    region: str | None = Field(None, pattern=REGION_PATTERN)


class InstanceFacts(Part):
    instance_id: str
    instance_type: str
    platform: Platform
    state: str
    name: str | None = None
    availability_zone: str | None = None
    approval_required: bool = False  # opted in with the approval value: a person decides before the interrupt

    @property
    def ships_dmesg(self) -> bool:
        """Only Linux has a kernel log beside its dump (vmcore-dmesg.txt, or makedumpfile's)."""
        return self.platform == "linux"


class Guard(Part):
    dry_run: bool
    lock_owner: str | None = None
    rate_slot: str | None = None


class Evidence(Part):
    console_output_uri: str | None = None
    screenshot_uri: str | None = None
    errors: list[str] = Field(default_factory=list)


class Interrupt(Part):
    sent: bool
    sent_at: datetime | None = None
    permission_checked: bool = False
    unconfirmed: str = ""  # EC2's answer was lost or a server error: it may have gone out, and is never resent


class Recovery(Part):
    status: Literal["WAITING", "RECOVERED"]
    attempt: int = 0
    recovered_at: datetime | None = None
    detail: str = ""
    waited_seconds: int = 0  # the waits before this poll, in the time AWS takes: what the timeout counts
    next_poll_seconds: int = 0  # WaitForRecovery's SecondsPath: chosen from the console (logic/recovery.py)
    until_back: bool = False  # that wait ends when the instance should be back (makedumpfile's rate)
    stage: Literal["unknown", "panicked", "writing", "saved"] = "unknown"  # the crash kernel's, per the console
    stage_seen_at: int = 0  # waited_seconds when the console first showed that stage
    percent: float | None = None  # makedumpfile's progress, when the console shows it
    baseline_percent: float | None = None  # the write's first progress sample, and when it was taken
    baseline_waited: int | None = None


class CommandRef(Part):
    """An SSM command the workflow is waiting for, and how many times it has polled it."""

    phase: Literal["locate", "upload"]
    command_id: str
    document: str
    sent_at: datetime
    attempt: int = 0
    done: bool = False
    status: str = ""  # SSM's last answer; the stdout is read from SSM itself where it is trusted
    upload: UploadPlan | None = None  # the upload phase's plan, which has no URL field


class Artifact(Part):
    s3_uri: str
    bytes: int
    sha256: str | None = None
    kind: str = "dump"


class Collection(Part):
    artifacts: list[Artifact] = Field(default_factory=list)
    dump_bytes: int = 0
    dmesg_uri: str | None = None
    collected_at: datetime | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class Triage(Part):
    summary: list[str] = Field(default_factory=list)
    culprit: str | None = None  # the one line that names what hung the kernel (logic/vmcore_culprit.py)
    vmcore_status: str | None = None  # analysed, no_symbols, failed, too_large, unavailable; None: no dump
    report_uri: str | None = None
    markdown_uri: str | None = None
    error: str | None = None


class Fallback(Part):
    action: Literal["none", "reboot"]
    detail: str = ""


class Abandoned(Part):
    """What AbandonCollection cleaned up after a failure while collecting, and what it could not."""

    detail: str  # one line, for the record's reason
    not_cleaned: list[str] = Field(default_factory=list)


class Approval(Part):
    """The decision a person (or the timeout) gave; what `panic-button approve` sends with SendTaskSuccess."""

    decision: Literal["approve"]
    decided_by: str  # the caller's ARN (sts:GetCallerIdentity), or "timeout"
    decided_at: datetime
    reason: str = ""


class StepError(BaseModel):
    """What a Catch puts at ResultPath: the error name (our exception class) and its cause (JSON text)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    error: str = Field(alias="Error")
    cause: str = Field("", alias="Cause")


class RemediationState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    input: Any = None
    execution: ExecutionRef
    target: Target | None = None
    instance: InstanceFacts | None = None
    guard: Guard | None = None
    evidence: Evidence | None = None
    impairment: dict[str, str] | None = None
    approval: Approval | None = None
    interrupt: Interrupt | None = None
    recovery: Recovery | None = None
    locate: CommandRef | None = None
    upload: CommandRef | None = None
    collection: Collection | None = None
    triage: Triage | None = None
    fallback: Fallback | None = None
    error: StepError | None = None
    triage_error: StepError | None = None
    abandon: Abandoned | None = None
    abandon_error: StepError | None = None  # AbandonCollection itself failed (e.g. timed out)

    def require_target(self) -> Target:
        if self.target is None:
            raise ValueError("state has no target: resolve_target has not run")
        return self.target

    def require_instance(self) -> InstanceFacts:
        if self.instance is None:
            raise ValueError("state has no instance facts: check_eligibility has not run")
        return self.instance

    def require_interrupt(self) -> Interrupt:
        if self.interrupt is None or self.interrupt.sent_at is None:
            raise ValueError("state has no sent interrupt")
        return self.interrupt
