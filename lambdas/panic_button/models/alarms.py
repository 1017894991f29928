"""The alarm manager's edges: its settings, the events that wake it, and the summary it returns."""

from __future__ import annotations

import os
import re
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from panic_button.models.state import INSTANCE_ID_PATTERN

# CloudWatch evaluates at most one day of periods: Period x EvaluationPeriods <= 86,400 s.
MAX_EVALUATION_PERIODS = 1440
_INSTANCE_ID = re.compile(INSTANCE_ID_PATTERN)


class AlarmSettings(BaseModel):
    """The alarm manager's environment, validated at first use like `panic_button.settings`."""

    model_config = ConfigDict(frozen=True)

    opt_in_tag_key: str = Field(alias="OPT_IN_TAG_KEY", min_length=1)
    opt_in_tag_value: str = Field(alias="OPT_IN_TAG_VALUE")
    # Instances that opt in with approval are watched the same way; only the workflow asks first.
    approval_tag_value: str = Field("approval", alias="APPROVAL_TAG_VALUE")
    alarm_name_prefix: str = Field(alias="ALARM_NAME_PREFIX", pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    datapoints_to_alarm: int = Field(3, alias="ALARM_DATAPOINTS", ge=1, le=MAX_EVALUATION_PERIODS)
    evaluation_periods: int = Field(3, alias="ALARM_EVALUATION_PERIODS", ge=1, le=MAX_EVALUATION_PERIODS)
    extra_instance_ids: frozenset[str] = Field(frozenset(), alias="EXTRA_INSTANCE_IDS")

    @property
    def opt_in_values(self) -> list[str]:
        return [self.opt_in_tag_value, self.approval_tag_value]

    @field_validator("extra_instance_ids", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):  # the environment carries "i-1,i-2"
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("extra_instance_ids")
    @classmethod
    def _instance_ids(cls, value: frozenset[str]) -> frozenset[str]:
        bad = sorted(v for v in value if not _is_instance_id(v))
        if bad:
            raise ValueError(f"not instance IDs: {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _m_of_n(self) -> AlarmSettings:
        if self.datapoints_to_alarm > self.evaluation_periods:
            raise ValueError("ALARM_DATAPOINTS must not exceed ALARM_EVALUATION_PERIODS (M of N)")
        return self


ALARM_ENV_NAMES = tuple(field.alias for field in AlarmSettings.model_fields.values() if field.alias)


@cache
def _load(snapshot: tuple[tuple[str, str], ...]) -> AlarmSettings:
    return AlarmSettings.model_validate(dict(snapshot))


def get_alarm_settings() -> AlarmSettings:
    return _load(tuple((name, os.environ[name]) for name in ALARM_ENV_NAMES if name in os.environ))


def _is_instance_id(value: str) -> bool:
    return _INSTANCE_ID.fullmatch(value) is not None


# --- Requests: what woke the manager -------------------------------------------------------------


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    source: str
    detail_type: str = Field(alias="detail-type")
    resources: list[str] = Field(default_factory=list)


class StateChangeDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    instance_id: str = Field(alias="instance-id", pattern=INSTANCE_ID_PATTERN)
    state: str


class InstanceStateChangeEvent(_Event):
    """`aws.ec2` / "EC2 Instance State-change Notification"."""

    source: Literal["aws.ec2"]
    detail_type: Literal["EC2 Instance State-change Notification"] = Field(alias="detail-type")
    detail: StateChangeDetail


class TagChangeDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    service: Literal["ec2"]
    resource_type: Literal["instance"] = Field(alias="resource-type")
    changed_tag_keys: list[str] = Field(default_factory=list, alias="changed-tag-keys")


class TagChangeEvent(_Event):
    """`aws.tag` / "Tag Change on Resource"; the instance is the ARN in `resources`."""

    source: Literal["aws.tag"]
    detail_type: Literal["Tag Change on Resource"] = Field(alias="detail-type")
    detail: TagChangeDetail

    @property
    def instance_ids(self) -> list[str]:
        return [arn.rsplit("/", 1)[-1] for arn in self.resources if ":instance/" in arn]


class ScheduledScan(_Event):
    source: Literal["aws.events"]
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")


class ManualScan(BaseModel):
    """`{"action": "scan"}`: the schedule's constant input, and what an operator sends."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["scan"]


class InstanceRequest(BaseModel):
    """Re-evaluate these instances only (an event named them)."""

    instance_ids: list[str]
    trigger: str


class FleetRequest(BaseModel):
    trigger: str


# --- Results ---------------------------------------------------------------------------------------


class AlarmConflict(BaseModel):
    """An alarm whose EC2 action (reboot, recover, stop, terminate) races Panic Button's rescue."""

    alarm_name: str
    instance_id: str
    metric_name: str
    actions: list[str]


class SkippedAlarm(BaseModel):
    """An alarm the manager would change but must not: it lacks the managed marker tag."""

    alarm_name: str
    instance_id: str
    reason: str


class UnsupportedInstance(BaseModel):
    """An eligible instance that gets no alarm: its type cannot take a diagnostic interrupt."""

    instance_id: str
    instance_type: str
    reason: str


class ReconcileSummary(BaseModel):
    trigger: str
    scope: Literal["fleet", "instances"]
    instances_in_scope: int = 0
    created: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    deleted: list[str] = Field(default_factory=list)
    unchanged: int = 0
    conflicts: list[AlarmConflict] = Field(default_factory=list)
    skipped: list[SkippedAlarm] = Field(default_factory=list)
    unsupported: list[UnsupportedInstance] = Field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.created), "updated": len(self.updated), "deleted": len(self.deleted),
            "unchanged": self.unchanged, "conflicts": len(self.conflicts), "skipped": len(self.skipped),
            "unsupported": len(self.unsupported),
        }
