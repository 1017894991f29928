"""Writes to CloudWatch. Every change to an existing alarm first confirms the managed marker tag, so an
alarm someone else owns is never changed, even if its description was copied from one of ours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from panic_button.aws import error_code
from panic_button.logic.alarms.spec import MANAGED_TAG_KEY, MANAGED_TAG_VALUE, AlarmSpec, alarm_parameters
from panic_button.models.alarms import AlarmSettings, SkippedAlarm

DELETE_BATCH = 100  # DeleteAlarms takes at most 100 names a call


@dataclass(frozen=True)
class ExistingAlarm:
    name: str
    arn: str
    instance_id: str


def create_alarm(cloudwatch: Any, spec: AlarmSpec, settings: AlarmSettings) -> None:
    # Tags only apply when PutMetricAlarm creates the alarm; updates go through TagResource.
    cloudwatch.put_metric_alarm(**alarm_parameters(spec, settings), Tags=_tag_list(spec.tags))


def update_alarm(cloudwatch: Any, alarm: ExistingAlarm, spec: AlarmSpec,
                 settings: AlarmSettings) -> SkippedAlarm | None:
    """Overwrite configuration and tags of a managed alarm; the alarm keeps its state."""
    current = _tags_if_managed(cloudwatch, alarm)
    if current is None:
        return _unmarked(alarm)
    cloudwatch.put_metric_alarm(**alarm_parameters(spec, settings))
    if current != spec.tags:
        cloudwatch.tag_resource(ResourceARN=alarm.arn, Tags=_tag_list(spec.tags))
        stale = sorted(current.keys() - spec.tags.keys())
        if stale:
            cloudwatch.untag_resource(ResourceARN=alarm.arn, TagKeys=stale)
    return None


def delete_alarms(cloudwatch: Any, alarms: Sequence[ExistingAlarm]) -> tuple[list[str], list[SkippedAlarm]]:
    """Delete the managed ones, in batches; report the rest."""
    confirmed: list[str] = []
    skipped: list[SkippedAlarm] = []
    for alarm in alarms:
        tags = _tags_if_managed(cloudwatch, alarm)
        if tags is None:
            skipped.append(_unmarked(alarm))
        else:
            confirmed.append(alarm.name)
    for start in range(0, len(confirmed), DELETE_BATCH):
        cloudwatch.delete_alarms(AlarmNames=confirmed[start:start + DELETE_BATCH])
    return confirmed, skipped


def _tags_if_managed(cloudwatch: Any, alarm: ExistingAlarm) -> dict[str, str] | None:
    try:
        listed = cloudwatch.list_tags_for_resource(ResourceARN=alarm.arn)["Tags"]
    except Exception as error:
        if error_code(error) == "ResourceNotFoundException":  # deleted meanwhile: nothing left to manage
            return None
        raise
    tags = {tag["Key"]: tag["Value"] for tag in listed}
    return tags if tags.get(MANAGED_TAG_KEY) == MANAGED_TAG_VALUE else None


def _unmarked(alarm: ExistingAlarm) -> SkippedAlarm:
    return SkippedAlarm(alarm_name=alarm.name, instance_id=alarm.instance_id,
                        reason=f"description names it managed but the {MANAGED_TAG_KEY} tag is missing")


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]
