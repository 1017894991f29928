"""What one managed alarm should look like: its name, configuration, description and tags.

The description carries the managed marker and a digest of the tags, so a reconcile can tell managed
alarms and tag drift apart from DescribeAlarms alone, without one ListTagsForResource per alarm. The
marker *tag* stays the authority: it is checked before any alarm is changed or deleted.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from panic_button.models.alarms import AlarmSettings

MANAGED_TAG_KEY = "panic-button:managed"
MANAGED_TAG_VALUE = "true"
DESCRIPTION_MARKER = f"[{MANAGED_TAG_KEY}"
METRIC_NAME = "StatusCheckFailed_Instance"
NAMESPACE = "AWS/EC2"
PERIOD_SECONDS = 60  # status check metrics have 1-minute resolution
MAX_ALARM_NAME = 255
MAX_ALARM_TAGS = 50  # CloudWatch's per-resource tag limit; the marker takes one
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# CloudWatch's tag pattern ([\p{L}\p{Z}\p{N}_.:/=+\-@]*): EC2 accepts more, and one bad tag fails the call.
_TAG_TEXT = re.compile(r"^[\w .:/=+\-@]*$")
_DIGEST = re.compile(r"tags-sha256=([0-9a-f]{16})")


@dataclass(frozen=True)
class Instance:
    instance_id: str
    state: str
    tags: dict[str, str]
    instance_type: str


@dataclass(frozen=True)
class AlarmSpec:
    instance_id: str
    name: str
    tags: dict[str, str]
    description: str


def sanitize_name_part(text: str) -> str:
    """The Name tag as alarm-name text: runs of anything but [A-Za-z0-9._-] become one '-'."""
    return _NAME_UNSAFE.sub("-", text).strip("-")


def alarm_name(prefix: str, instance_id: str, name_tag: str | None) -> str:
    base = f"{prefix}{instance_id}"
    readable = sanitize_name_part(name_tag or "")
    if not readable:
        return base
    room = MAX_ALARM_NAME - len(base) - 1
    return f"{base}-{readable[:room]}".rstrip("-")


def alarm_tags(instance_tags: dict[str, str]) -> dict[str, str]:
    """The instance's tags CloudWatch accepts, at most 49 (Name first, then by key), plus the marker."""
    usable = {
        key: value for key, value in instance_tags.items()
        if not key.lower().startswith("aws:") and key != MANAGED_TAG_KEY
        and 0 < len(key) <= 128 and len(value) <= 256 and _TAG_TEXT.match(key) and _TAG_TEXT.match(value)
    }
    ordered = sorted(usable, key=lambda key: (key != "Name", key))
    kept = {key: usable[key] for key in ordered[: MAX_ALARM_TAGS - 1]}
    return {**kept, MANAGED_TAG_KEY: MANAGED_TAG_VALUE}


def tags_digest(tags: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(tags, sort_keys=True).encode()).hexdigest()[:16]


def build_spec(instance: Instance, settings: AlarmSettings) -> AlarmSpec:
    tags = alarm_tags(instance.tags)
    description = (
        f"Panic Button: {METRIC_NAME} of {instance.instance_id} failing in {settings.datapoints_to_alarm} of "
        f"{settings.evaluation_periods} minutes starts the rescue workflow. Kept by the alarm manager; "
        f"manual edits are overwritten. {DESCRIPTION_MARKER} tags-sha256={tags_digest(tags)}]"
    )
    name = alarm_name(settings.alarm_name_prefix, instance.instance_id, instance.tags.get("Name"))
    return AlarmSpec(instance_id=instance.instance_id, name=name, tags=tags, description=description)


def alarm_parameters(spec: AlarmSpec, settings: AlarmSettings) -> dict[str, Any]:
    """PutMetricAlarm arguments without tags. No actions: the EventBridge rule on the name prefix is the
    action, so nothing here can reboot or notify on its own."""
    return {
        "AlarmName": spec.name,
        "AlarmDescription": spec.description,
        "ActionsEnabled": True,
        "AlarmActions": [],
        "OKActions": [],
        "InsufficientDataActions": [],
        "MetricName": METRIC_NAME,
        "Namespace": NAMESPACE,
        "Statistic": "Maximum",
        "Dimensions": [{"Name": "InstanceId", "Value": spec.instance_id}],
        "Period": PERIOD_SECONDS,
        "EvaluationPeriods": settings.evaluation_periods,
        "DatapointsToAlarm": settings.datapoints_to_alarm,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "missing",
    }


def drifted_fields(existing: dict[str, Any], spec: AlarmSpec, settings: AlarmSettings) -> list[str]:
    """Which PutMetricAlarm fields of a described alarm differ from the spec (the description covers tags)."""
    wanted = alarm_parameters(spec, settings)
    return [key for key, value in wanted.items() if existing.get(key) != value]


def is_marked_managed(alarm: dict[str, Any]) -> bool:
    return DESCRIPTION_MARKER in str(alarm.get("AlarmDescription", ""))


def described_tags_digest(alarm: dict[str, Any]) -> str | None:
    match = _DIGEST.search(str(alarm.get("AlarmDescription", "")))
    return match.group(1) if match else None


def instance_of(alarm: dict[str, Any]) -> str | None:
    """The InstanceId dimension of a single-metric alarm."""
    for dimension in alarm.get("Dimensions", []):
        if dimension.get("Name") == "InstanceId":
            return str(dimension.get("Value"))
    return None
