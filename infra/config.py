"""Deployment configuration: read from `cdk.json` context (overridable with `cdk deploy -c key=value`)
and validated at synth time, so a typo fails `cdk synth` with a clear message instead of a broken stack."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CONTEXT_PREFIX = "panic-button:"
_TAG_PART = re.compile(r"^[\w .:/=+\-@]{1,128}$")
_INSTANCE_ID = re.compile(r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
# https:// only: the vmlinux is the analysis' ground truth, so it comes over an authenticated channel.
_DEBUGINFOD_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:\d+)?(/[\w./~-]*)?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ROLE_ARN = re.compile(r"^arn:aws(?:-cn|-us-gov)?:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$")
_ORGANIZATION_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
_OU_ID = re.compile(r"^(?:ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d$")
IN_REGION = "in-region"
# Hub role names are <stack>-<step>-<region> (IAM caps role names at 64 characters).
MAX_ORGANIZATION_STACK_NAME = 20
STACK_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9-]{0,127}$"  # CloudFormation's rule; the CLI checks --stack with it
COMMAND_LINE = "-c on the command line"


class ConfigError(ValueError):
    """The deployment context is invalid; the message names the key, where its value came from, and the fix."""


class PanicButtonConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    stack_name: str = Field("PanicButton", pattern=STACK_NAME_PATTERN)
    opt_in_tag_key: str = "PanicButton"
    opt_in_tag_value: str = "enabled"
    # The opt-in value that makes the workflow wait for a person's decision before the interrupt.
    approval_tag_value: str = "approval"
    approval_timeout_minutes: int = Field(60, ge=2, le=24 * 60)
    # No heartbeat within this window ends the wait too (`panic-button hold` sends one); below the timeout.
    approval_heartbeat_minutes: int = Field(15, ge=1, le=24 * 60 - 1)
    approval_on_timeout: Literal["deny", "approve"] = "deny"
    alarm_name_prefix: str = Field("panic-button-", pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    cooldown_minutes: int = Field(360, ge=0, le=7 * 24 * 60)
    rate_limit_per_hour: int = Field(5, ge=1, le=1000)
    # The fleet circuit breaker: more alarms than this in one window is an outage, not independent hangs.
    breaker_alarms: int = Field(20, ge=1, le=100000)
    breaker_window_minutes: int = Field(10, ge=1, le=24 * 60)
    poll_interval_seconds: int = Field(30, ge=5, le=600)
    recovery_timeout_minutes: int = Field(20, ge=1, le=240)
    # At most 6 h: the collector's presigned part URLs are signed for 6 h (and die with the signing session).
    collection_timeout_minutes: int = Field(60, ge=5, le=6 * 60)
    # Dump parts the collector uploads at once (S3 caps each connection); each costs one part of scratch
    # space and one curl. The default is the knee of bench.bench_collector_upload's curve (README).
    upload_parallel_parts: int = Field(6, ge=1, le=8)
    not_recovered_fallback: Literal["none", "reboot"] = "none"
    evidence_retention_days: int = Field(30, ge=1, le=3650)
    record_retention_days: int = Field(400, ge=1, le=3650)
    notification_emails: tuple[str, ...] = ()
    dry_run: bool = False
    alarm_datapoints: int = Field(3, ge=1, le=1440)
    alarm_evaluation_periods: int = Field(3, ge=1, le=1440)
    reconcile_schedule_minutes: int = Field(60, ge=1, le=24 * 60)
    extra_instance_ids: tuple[str, ...] = ()
    # TriageDump downloads the dump and the vmlinux (~650 MB) to /tmp for the vmcore analysis.
    analysis_ephemeral_mb: int = Field(2048, ge=512, le=10240)
    analysis_memory_mb: int = Field(2048, ge=512, le=10240)
    # IAM roles (e.g. the kernel team's) that may read crash dumps; nobody else can, admins included.
    dump_reader_arns: tuple[str, ...] = ()
    # Asked by build ID for a vmlinux the bucket's symbols/ lacks (Ubuntu and Fedora run public ones). The
    # analysis function then needs internet egress: it runs outside any VPC, so Lambda's own networking.
    debuginfod_urls: tuple[str, ...] = ()
    # The local sandbox's synth only (make synth writes it to cdk.out/sandbox): the collector documents also
    # accept http://127.0.0.1 manifest URLs. Never in cdk.json: a deployed stack accepts only its bucket's.
    sandbox_collector_urls: bool = False
    # Organizations (docs/organizations.md): "single" is one account and Region; "organization" makes the hub
    # and member stacks.
    mode: Literal["single", "organization"] = "single"
    organization_id: str = ""
    hub_account: str = ""
    target_ous: tuple[str, ...] = ()
    member_regions: tuple[str, ...] = ()
    # "in-region": one hub per Region, dumps never leave their Region; or one Region's name: one central hub.
    hub_regions: str = IN_REGION
    # DELEGATED_ADMIN: the hub account is the StackSets delegated administrator; SELF: it is the management account.
    stackset_call_as: Literal["DELEGATED_ADMIN", "SELF"] = "DELEGATED_ADMIN"
    # The hub's rate limit: one window per member account and Region, or one for the whole organization.
    guard_scope: Literal["account-region", "organization"] = "account-region"

    @field_validator("dump_reader_arns", mode="before")
    @classmethod
    def _role_arns(cls, value: Any) -> Any:
        value = _text_list(value)
        for arn in value:
            if not isinstance(arn, str) or not _ROLE_ARN.fullmatch(arn):
                raise ValueError(f"{arn!r} is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)")
        return value

    @field_validator("target_ous", "member_regions", mode="before")
    @classmethod
    def _organization_lists(cls, value: Any) -> Any:
        return _text_list(value)

    @model_validator(mode="after")
    def _organization_complete(self) -> PanicButtonConfig:
        if self.mode != "organization":
            return self
        problems = [
            *([] if _ORGANIZATION_ID.fullmatch(self.organization_id) else ["organization-id must be o-<10-32 "
                                                                           "lowercase letters or digits>"]),
            *([] if _ACCOUNT_ID.fullmatch(self.hub_account) else ["hub-account must be a 12-digit account ID"]),
            *([] if self.target_ous and all(_OU_ID.fullmatch(ou) for ou in self.target_ous)
              else ["target-ous must list OU IDs (ou-xxxx-yyyyyyyy) or the root (r-xxxx)"]),
            *([] if self.member_regions and all(_REGION.fullmatch(r) for r in self.member_regions)
              else ["member-regions must list Region names such as eu-west-1"]),
            *([] if self.hub_regions == IN_REGION or _REGION.fullmatch(self.hub_regions)
              else [f"hub-regions must be {IN_REGION!r} or one Region name"]),
            *([] if len(self.stack_name) <= MAX_ORGANIZATION_STACK_NAME
              else [f"stack-name must be at most {MAX_ORGANIZATION_STACK_NAME} characters in organization mode"]),
        ]
        if problems:
            raise ValueError("organization mode: " + "; ".join(problems))
        return self

    @property
    def stackset_region(self) -> str:
        """The Region whose hub owns the StackSet: the central hub, or the first member Region's hub."""
        return self.member_regions[0] if self.hub_regions == IN_REGION else self.hub_regions

    @field_validator("extra_instance_ids", mode="before")
    @classmethod
    def _instance_ids(cls, value: Any) -> Any:
        value = _text_list(value)
        for instance_id in value:
            if not isinstance(instance_id, str) or not _INSTANCE_ID.fullmatch(instance_id):
                raise ValueError(f"{instance_id!r} is not an instance ID (i- followed by 8 or 17 hex digits)")
        return value

    @field_validator("debuginfod_urls", mode="before")
    @classmethod
    def _debuginfod_urls(cls, value: Any) -> Any:
        value = _text_list(value)
        for url in value:
            if not isinstance(url, str) or not _DEBUGINFOD_URL.fullmatch(url):
                raise ValueError(f"{url!r} is not an https:// debuginfod server URL")
        return value

    @model_validator(mode="after")
    def _datapoints_fit(self) -> PanicButtonConfig:
        if self.alarm_datapoints > self.alarm_evaluation_periods:
            raise ValueError("alarm-datapoints cannot exceed alarm-evaluation-periods")
        return self

    @model_validator(mode="after")
    def _approval_fits(self) -> PanicButtonConfig:
        if self.approval_tag_value == self.opt_in_tag_value:
            raise ValueError("approval-tag-value must differ from opt-in-tag-value")
        # Step Functions refuses a HeartbeatSeconds that is not below TimeoutSeconds.
        if self.approval_heartbeat_minutes >= self.approval_timeout_minutes:
            raise ValueError("approval-heartbeat-minutes must be below approval-timeout-minutes")
        return self

    @field_validator("opt_in_tag_key", "opt_in_tag_value", "approval_tag_value")
    @classmethod
    def _tag_text(cls, value: str) -> str:
        if not _TAG_PART.fullmatch(value) or value.lower().startswith("aws:"):
            raise ValueError("must be 1-128 characters of letters, digits, spaces and _.:/=+-@, not 'aws:'")
        return value

    @field_validator("notification_emails", mode="before")
    @classmethod
    def _emails(cls, value: Any) -> Any:
        value = _text_list(value)
        for email in value:
            if not isinstance(email, str) or not _EMAIL.fullmatch(email):
                raise ValueError(f"{email!r} is not an email address")
        return value

    @property
    def cooldown_seconds(self) -> int:
        return self.cooldown_minutes * 60

    @property
    def breaker_window_seconds(self) -> int:
        return self.breaker_window_minutes * 60

    @property
    def recovery_timeout_seconds(self) -> int:
        return self.recovery_timeout_minutes * 60

    @property
    def collection_timeout_seconds(self) -> int:
        return self.collection_timeout_minutes * 60

    @property
    def workflow_timeout_seconds(self) -> int:
        """The state machine's TimeoutSeconds: a safety net past the longest path the workflow takes by
        itself (every poll loop is bounded; CompleteUpload's 15 min and the other steps fit in the margin)."""
        return (self.recovery_timeout_seconds + 2 * self.collection_timeout_seconds + self.approval_timeout_seconds
                + 30 * 60)

    @property
    def approval_timeout_seconds(self) -> int:
        return self.approval_timeout_minutes * 60

    @property
    def approval_heartbeat_seconds(self) -> int:
        return self.approval_heartbeat_minutes * 60

    @property
    def opt_in_tag_values(self) -> list[str]:
        """Every tag value that opts an instance in: IAM conditions and the alarm manager admit both."""
        return [self.opt_in_tag_value, self.approval_tag_value]


def _text_list(value: Any) -> Any:
    """A list from cdk.json, or from `-c key='["a","b"]'` / `-c key=a,b`, which arrive as text.
    Raises ValueError, never TypeError: only ValueError becomes an error that names the key."""
    if isinstance(value, str):
        text = value.strip()
        value = json.loads(text) if text.startswith("[") else [v.strip() for v in text.split(",") if v.strip()]
    if not isinstance(value, list | tuple):
        raise ValueError("must be a list or a comma-separated string")
    return value


def _cross_field(message: str) -> str:
    """The field a model-level check is about: the key its message names first."""
    if "organization mode" in message:  # the organization check names its keys in its message
        return "mode"
    for name in ("approval_tag_value", "approval_heartbeat_minutes"):
        if name.replace("_", "-") in message:
            return name
    return "alarm_datapoints"


def _field_for_key(key: str) -> str:
    return key.removeprefix(CONTEXT_PREFIX).replace("-", "_")


def load_config(context: Mapping[str, Any], files: Mapping[str, Mapping[str, Any]] | None = None) -> PanicButtonConfig:
    """Build the config from context entries named `panic-button:<kebab-name>`.

    `files`: the context each file holds ("cdk.json" -> its context), to name where a bad value came from:
    the CDK CLI hands the app one merged context, so a value no file holds was given with -c."""
    known = set(PanicButtonConfig.model_fields)
    values: dict[str, Any] = {}
    for key, value in context.items():
        if not key.startswith(CONTEXT_PREFIX):
            continue
        name = _field_for_key(key)
        if name not in known:
            raise ConfigError(f"unknown key {key!r} (from {_origin(key, value, files)}); known keys: "
                              + ", ".join(sorted(CONTEXT_PREFIX + k.replace("_", "-") for k in known)))
        values[name] = value
    try:
        return PanicButtonConfig.model_validate(values)
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            field = str(problem["loc"][0]) if problem["loc"] else _cross_field(str(problem["msg"]))
            key = CONTEXT_PREFIX + field.replace("_", "-")
            problems.append(f"{key} (from {_origin(key, context.get(key), files)}): {problem['msg']}")
        raise ConfigError("context is invalid: " + "; ".join(problems)) from None


def _origin(key: str, value: Any, files: Mapping[str, Mapping[str, Any]] | None) -> str:
    if files is None:
        return "the context"
    return next((name for name, held in files.items() if key in held and held[key] == value), COMMAND_LINE)
