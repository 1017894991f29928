"""Inputs at the workflow's edge: the EventBridge "CloudWatch Alarm State Change" event (not the
alarm's direct Lambda action payload that Powertools models) and the manual input."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

REASON_MAX_LENGTH = 500  # characters of a manual reason; the CLI refuses longer ones before any call


class MetricRef(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    namespace: str | None = None
    name: str | None = None
    dimensions: dict[str, str] = Field(default_factory=dict)


class MetricStat(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    metric: MetricRef


class AlarmMetric(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    id: str | None = None
    metric_stat: MetricStat | None = Field(None, alias="metricStat")
    expression: str | None = None
    return_data: bool | None = Field(None, alias="returnData")


class AlarmConfiguration(BaseModel):
    model_config = ConfigDict(extra="ignore")
    metrics: list[AlarmMetric] = Field(default_factory=list)
    alarm_rule: str | None = Field(None, alias="alarmRule")


class AlarmState(BaseModel):
    model_config = ConfigDict(extra="ignore")
    value: str
    reason: str = ""
    timestamp: str | None = None


class AlarmDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    alarm_name: str = Field(alias="alarmName")
    state: AlarmState
    configuration: AlarmConfiguration = Field(default_factory=AlarmConfiguration)


class AlarmStateChangeEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    source: str
    detail_type: str = Field(alias="detail-type")
    account: str | None = None
    region: str | None = None
    resources: list[str] = Field(default_factory=list)
    detail: AlarmDetail


class ManualInput(BaseModel):
    """`{"instance_id": "i-...", "reason": "...", "dry_run": true}` from an operator or the CLI."""

    model_config = ConfigDict(extra="forbid")
    instance_id: str
    reason: str = Field("manual request", min_length=1, max_length=REASON_MAX_LENGTH)
    dry_run: bool | None = None
    account: str | None = None  # an organization hub's member instance (`panic-button start --account`)
    region: str | None = None


def looks_like_event(raw: Any) -> bool:
    return isinstance(raw, dict) and "detail-type" in raw


class SummaryTick(BaseModel):
    """What wakes the storm summariser: the schedule's "Scheduled Event" (its `time` is when it fired), or an
    operator's `{}` (now)."""

    model_config = ConfigDict(extra="ignore")
    time: datetime | None = None
class CommandInvocationDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    command_id: str = Field(alias="command-id")
    instance_id: str = Field(alias="instance-id")
    document_name: str = Field("", alias="document-name")
    status: str


class CommandInvocationStatusChange(BaseModel):
    """SSM Run Command's "EC2 Command Invocation Status-change Notification" (source aws.ssm): one command on
    one instance changed status. It carries no output: the result is read with GetCommandInvocation."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    source: str
    detail_type: str = Field(alias="detail-type")
    detail: CommandInvocationDetail
