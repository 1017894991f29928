"""Runtime settings of every Lambda, from the environment the stack sets. Validated at first use so a
misconfigured function fails with a named variable, not a KeyError deep in the logic."""

from __future__ import annotations

import os
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    table_name: str = Field(alias="TABLE_NAME")
    bucket_name: str = Field(alias="BUCKET_NAME")
    topic_arn: str = Field(alias="TOPIC_ARN")
    linux_document: str = Field(alias="LINUX_DOCUMENT")
    windows_document: str = Field(alias="WINDOWS_DOCUMENT")
    opt_in_tag_key: str = Field(alias="OPT_IN_TAG_KEY")
    opt_in_tag_value: str = Field(alias="OPT_IN_TAG_VALUE")
    approval_tag_value: str = Field("approval", alias="APPROVAL_TAG_VALUE")
    # How long the workflow waits for a decision: the lock must outlive it (lock_lifetime_seconds).
    approval_timeout_seconds: int = Field(0, alias="APPROVAL_TIMEOUT_SECONDS", ge=0)
    approval_heartbeat_seconds: int = Field(0, alias="APPROVAL_HEARTBEAT_SECONDS", ge=0)
    approval_on_timeout: Literal["deny", "approve"] = Field("deny", alias="APPROVAL_ON_TIMEOUT")
    cooldown_seconds: int = Field(alias="COOLDOWN_SECONDS", ge=0)
    rate_limit_per_hour: int = Field(alias="RATE_LIMIT_PER_HOUR", ge=1)
    poll_interval_seconds: int = Field(alias="POLL_INTERVAL_SECONDS", ge=1)
    # The fleet circuit breaker, and the window of the storm summary (ApplyGuards, RecordOutcome, the summariser).
    breaker_alarms: int = Field(alias="BREAKER_ALARMS", ge=1)
    breaker_window_seconds: int = Field(alias="BREAKER_WINDOW_SECONDS", ge=60)
    recovery_timeout_seconds: int = Field(alias="RECOVERY_TIMEOUT_SECONDS", ge=1)
    collection_timeout_seconds: int = Field(alias="COLLECTION_TIMEOUT_SECONDS", ge=1)
    upload_parallel_parts: int = Field(alias="UPLOAD_PARALLEL_PARTS", ge=1, le=8)
    not_recovered_fallback: Literal["none", "reboot"] = Field(alias="NOT_RECOVERED_FALLBACK")
    dry_run_default: bool = Field(alias="DRY_RUN_DEFAULT")
    record_retention_days: int = Field(alias="RECORD_RETENTION_DAYS", ge=1)
    evidence_prefix: str = Field("remediations", alias="EVIDENCE_PREFIX")
    # TriageDump only: the largest dump its ephemeral storage takes beside a vmlinux (the stack sets it; the
    # default fits Lambda's default 512 MB of /tmp, which holds a small dump but no vmlinux beside it).
    analysis_max_dump_bytes: int = Field(400 * 1024 * 1024, alias="ANALYSIS_MAX_DUMP_BYTES", ge=0)
    # TriageDump only: debuginfod servers asked for a vmlinux the bucket lacks, space-separated as in
    # elfutils' own DEBUGINFOD_URLS; empty: the bucket's symbols/ only.
    debuginfod_urls: str = Field("", alias="DEBUGINFOD_URLS")
    # The state machine's TimeoutSeconds, for the aborted-run recorder to name in a TIMED_OUT record.
    workflow_timeout_seconds: int | None = Field(None, alias="WORKFLOW_TIMEOUT_SECONDS", ge=1)
    dump_key_arn: str = Field(alias="DUMP_KEY_ARN")  # dumps, dmesg and manifest.json only

    # Organization hub only: one rate-limit window per member account and Region, or one for the organization.
    guard_scope: Literal["account-region", "organization"] = Field("account-region", alias="GUARD_SCOPE")
    # Organization hub only: the members' own copies of the collector documents, under fixed names.
    member_linux_document: str | None = Field(None, alias="MEMBER_LINUX_DOCUMENT")
    member_windows_document: str | None = Field(None, alias="MEMBER_WINDOWS_DOCUMENT")

    def document_for(self, platform: str, *, in_member: bool = False) -> str:
        if in_member:
            member = self.member_windows_document if platform == "windows" else self.member_linux_document
            if member is None:
                raise ValueError("MEMBER_LINUX_DOCUMENT and MEMBER_WINDOWS_DOCUMENT name the members' documents")
            return member
        return self.windows_document if platform == "windows" else self.linux_document

    @property
    def debuginfod_servers(self) -> tuple[str, ...]:
        return tuple(self.debuginfod_urls.split())

    @property
    def max_collection_polls(self) -> int:
        return -(-self.collection_timeout_seconds // self.poll_interval_seconds)

    @property
    def lock_lifetime_seconds(self) -> int:
        """How long a lock outlives a crashed workflow before another trigger may take it."""
        return self.recovery_timeout_seconds + 2 * self.collection_timeout_seconds + self.approval_timeout_seconds + 900


ENV_NAMES = tuple(field.alias for field in Settings.model_fields.values() if field.alias)


@cache
def _load(snapshot: tuple[tuple[str, str], ...]) -> Settings:
    return Settings.model_validate(dict(snapshot))


def get_settings() -> Settings:
    """Settings from os.environ; cached per distinct environment (the sandbox runs many functions)."""
    return _load(tuple((name, os.environ[name]) for name in ENV_NAMES if name in os.environ))
