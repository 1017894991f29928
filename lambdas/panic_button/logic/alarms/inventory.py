"""Read-only views of the fleet and its alarms, in as few paginated calls as the APIs allow."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from panic_button.aws import error_code
from panic_button.logic.alarms.spec import Instance, instance_of
from panic_button.models.alarms import AlarmConflict, AlarmSettings

DESCRIBE_INSTANCES_PAGE = 1000  # the API's maximum MaxResults
DESCRIBE_ALARMS_PAGE = 100  # the API's maximum MaxRecords
FILTER_VALUES_PER_CALL = 200  # EC2's limit on values in one filter
_MISSING_INSTANCE_CODES = {"InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"}
# Alarm actions that reboot, recover, stop or terminate the instance: each races the rescue. The first
# form is today's (arn:aws:automate:<region>:ec2:reboot); the second the older SWF form
# (arn:aws:swf:<region>:<account>:action/actions/AWS_EC2.InstanceId.Reboot/1.0).
_DISRUPTIVE_ACTIONS = ("ec2:reboot", "ec2:recover", "ec2:stop", "ec2:terminate",
                       "AWS_EC2.InstanceId.Reboot", "AWS_EC2.InstanceId.Stop", "AWS_EC2.InstanceId.Terminate")
_STATUS_CHECK_METRIC = "StatusCheckFailed"


def eligible_instances(ec2: Any, settings: AlarmSettings) -> list[Instance]:
    """Running instances that carry the opt-in tag or are listed in the configuration."""
    running = {"Name": "instance-state-name", "Values": ["running"]}
    tagged = {"Name": f"tag:{settings.opt_in_tag_key}", "Values": settings.opt_in_values}
    found = {i.instance_id: i for i in _paged_instances(ec2, [running, tagged])}
    extra = sorted(settings.extra_instance_ids - found.keys())
    for start in range(0, len(extra), FILTER_VALUES_PER_CALL):
        # A filter, not InstanceIds: one unknown ID must not fail the whole call.
        listed = {"Name": "instance-id", "Values": extra[start:start + FILTER_VALUES_PER_CALL]}
        found.update((i.instance_id, i) for i in _paged_instances(ec2, [running, listed]))
    return list(found.values())


def describe_instance(ec2: Any, instance_id: str) -> Instance | None:
    """The instance as EC2 sees it now, or None when EC2 no longer knows it."""
    try:
        reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    except Exception as error:
        if error_code(error) in _MISSING_INSTANCE_CODES:
            return None
        raise
    instances = [_instance(raw) for reservation in reservations for raw in reservation["Instances"]]
    return instances[0] if instances else None


def is_eligible(instance: Instance | None, settings: AlarmSettings) -> bool:
    if instance is None or instance.state != "running":
        return False
    opted_in = instance.tags.get(settings.opt_in_tag_key) in settings.opt_in_values
    return opted_in or instance.instance_id in settings.extra_instance_ids


def prefixed_alarms(cloudwatch: Any, name_prefix: str) -> list[dict[str, Any]]:
    """Metric alarms whose names start with `name_prefix` (ours and anyone else's)."""
    return list(_paged_alarms(cloudwatch, AlarmNamePrefix=name_prefix))


def racing_alarms(cloudwatch: Any, instance_ids: Iterable[str]) -> list[AlarmConflict]:
    """Alarms on these instances' StatusCheckFailed* metrics with a disruptive EC2 action.

    ActionPrefix narrows the search to alarms with EC2 actions, so the cost follows the number of
    such alarms, not the size of the account's alarm list."""
    wanted = set(instance_ids)
    if not wanted:
        return []
    region, partition = cloudwatch.meta.region_name, cloudwatch.meta.partition
    found: dict[str, AlarmConflict] = {}
    for prefix in (f"arn:{partition}:automate:{region}:ec2:", f"arn:{partition}:swf:{region}:"):
        for alarm in _paged_alarms(cloudwatch, ActionPrefix=prefix):
            conflict = _conflict(alarm, wanted)
            if conflict:
                found[conflict.alarm_name] = conflict
    return sorted(found.values(), key=lambda c: c.alarm_name)


def _conflict(alarm: dict[str, Any], wanted: set[str]) -> AlarmConflict | None:
    actions = [a for key in ("AlarmActions", "OKActions", "InsufficientDataActions") for a in alarm.get(key, [])
               if any(marker in a for marker in _DISRUPTIVE_ACTIONS)]
    if not actions:
        return None
    for metric_name, instance_id in _watched_metrics(alarm):
        if metric_name.startswith(_STATUS_CHECK_METRIC) and instance_id in wanted:
            return AlarmConflict(alarm_name=alarm["AlarmName"], instance_id=instance_id,
                                 metric_name=metric_name, actions=actions)
    return None


def _watched_metrics(alarm: dict[str, Any]) -> Iterator[tuple[str, str]]:
    # A metric math alarm lists its metrics under Metrics, possibly with ReturnData false: check them all.
    if alarm.get("MetricName"):
        instance_id = instance_of(alarm)
        if instance_id:
            yield alarm["MetricName"], instance_id
    for query in alarm.get("Metrics", []):
        metric = query.get("MetricStat", {}).get("Metric", {})
        instance_id = instance_of(metric)
        if metric.get("MetricName") and instance_id:
            yield metric["MetricName"], instance_id


def _paged_instances(ec2: Any, filters: list[dict[str, Any]]) -> Iterator[Instance]:
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=filters, PaginationConfig={"PageSize": DESCRIBE_INSTANCES_PAGE})
    for page in pages:
        for reservation in page["Reservations"]:
            yield from (_instance(raw) for raw in reservation["Instances"])


def _paged_alarms(cloudwatch: Any, **selection: str) -> Iterator[dict[str, Any]]:
    pages = cloudwatch.get_paginator("describe_alarms").paginate(
        AlarmTypes=["MetricAlarm"], PaginationConfig={"PageSize": DESCRIBE_ALARMS_PAGE}, **selection)
    for page in pages:
        yield from page.get("MetricAlarms", [])


def _instance(raw: dict[str, Any]) -> Instance:
    return Instance(instance_id=raw["InstanceId"], state=raw["State"]["Name"],
                    tags={tag["Key"]: tag["Value"] for tag in raw.get("Tags", [])},
                    instance_type=raw["InstanceType"])
