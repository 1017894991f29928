"""The alarm set follows the fleet: each EventBridge event, delivered to the handler as AWS sends it,
changes the alarms the way issue 4 describes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from panic_button.errors import InvalidInput
from panic_button.logic.alarms.spec import MANAGED_TAG_KEY

from tests.unit_alarms.conftest import (
    OPT_IN_KEY,
    OPT_IN_VALUE,
    PREFIX,
    Aws,
    scheduled_event,
    state_change_event,
    tag_change_event,
)

Invoke = Callable[[dict[str, Any]], dict[str, Any]]
OPTED_IN = {OPT_IN_KEY: OPT_IN_VALUE, "Name": "web server 1", "team": "payments"}


def test_launch_of_an_opted_in_instance_creates_its_alarm(aws: Aws, invoke: Invoke) -> None:
    # Given an opted-in instance that just started
    (instance_id,) = aws.launch(tags=OPTED_IN)
    # When its "running" state change arrives
    result = invoke(state_change_event(instance_id, "running"))
    # Then exactly one alarm exists, configured and tagged as specified, with no actions
    name = f"{PREFIX}{instance_id}-web-server-1"
    assert result["created"] == [name]
    alarm = aws.alarms()[name]
    assert (alarm["MetricName"], alarm["Namespace"], alarm["Statistic"]) == (
        "StatusCheckFailed_Instance", "AWS/EC2", "Maximum")
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (60, 3, 3)
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1.0, "GreaterThanOrEqualToThreshold")
    assert alarm["TreatMissingData"] == "missing"
    assert alarm["Dimensions"] == [{"Name": "InstanceId", "Value": instance_id}]
    assert alarm["AlarmActions"] == [] and alarm["OKActions"] == [] and alarm["InsufficientDataActions"] == []
    assert aws.alarm_tags(name) == {**OPTED_IN, MANAGED_TAG_KEY: "true"}


def test_the_same_event_twice_changes_nothing_the_second_time(aws: Aws, invoke: Invoke) -> None:
    (instance_id,) = aws.launch(tags=OPTED_IN)
    invoke(state_change_event(instance_id, "running"))
    again = invoke(state_change_event(instance_id, "running"))
    assert (again["created"], again["updated"], again["deleted"], again["unchanged"]) == ([], [], [], 1)
    assert len(aws.alarms()) == 1


def test_instance_without_the_tag_gets_no_alarm(aws: Aws, invoke: Invoke) -> None:
    (instance_id,) = aws.launch(tags={"Name": "not mine"})
    result = invoke(state_change_event(instance_id, "running"))
    assert result["created"] == [] and aws.alarms() == {}


def test_tagging_creates_and_untagging_deletes(aws: Aws, invoke: Invoke) -> None:
    # Given a running instance without the opt-in tag
    (instance_id,) = aws.launch(tags={"Name": "db"})
    # When the tag is added
    aws.ec2.create_tags(Resources=[instance_id], Tags=[{"Key": OPT_IN_KEY, "Value": OPT_IN_VALUE}])
    tagged = invoke(tag_change_event(instance_id, [OPT_IN_KEY], {"Name": "db", OPT_IN_KEY: OPT_IN_VALUE}))
    # Then its alarm appears
    assert tagged["created"] == [f"{PREFIX}{instance_id}-db"]
    # When the tag is removed
    aws.ec2.delete_tags(Resources=[instance_id], Tags=[{"Key": OPT_IN_KEY}])
    untagged = invoke(tag_change_event(instance_id, [OPT_IN_KEY], {"Name": "db"}))
    # Then the alarm is gone
    assert untagged["deleted"] == [f"{PREFIX}{instance_id}-db"]
    assert aws.alarms() == {}


def test_a_tag_value_other_than_the_opt_in_value_deletes(aws: Aws, invoke: Invoke) -> None:
    (instance_id,) = aws.launch(tags=OPTED_IN)
    invoke(state_change_event(instance_id, "running"))
    aws.ec2.create_tags(Resources=[instance_id], Tags=[{"Key": OPT_IN_KEY, "Value": "disabled"}])
    result = invoke(tag_change_event(instance_id, [OPT_IN_KEY], {OPT_IN_KEY: "disabled"}))
    assert len(result["deleted"]) == 1 and aws.alarms() == {}


def test_renaming_the_instance_replaces_the_alarm_and_other_tag_changes_update_it(aws: Aws, invoke: Invoke) -> None:
    (instance_id,) = aws.launch(tags=OPTED_IN)
    invoke(state_change_event(instance_id, "running"))
    # A new Name means a new alarm name: the new alarm is created, the old one deleted
    aws.ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "Name", "Value": "api"}])
    renamed = invoke(tag_change_event(instance_id, ["Name"], {**OPTED_IN, "Name": "api"}))
    assert renamed["created"] == [f"{PREFIX}{instance_id}-api"]
    assert renamed["deleted"] == [f"{PREFIX}{instance_id}-web-server-1"]
    # Another tag changed and one removed: same alarm, its tags follow
    aws.ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "cost-center", "Value": "42"}])
    aws.ec2.delete_tags(Resources=[instance_id], Tags=[{"Key": "team"}])
    retagged = invoke(tag_change_event(instance_id, ["cost-center", "team"], {}))
    assert retagged["updated"] == [f"{PREFIX}{instance_id}-api"]
    assert aws.alarm_tags(f"{PREFIX}{instance_id}-api") == {
        OPT_IN_KEY: OPT_IN_VALUE, "Name": "api", "cost-center": "42", MANAGED_TAG_KEY: "true"}


@pytest.mark.parametrize("action", ["stop", "terminate"])
def test_stop_and_terminate_delete_the_alarm(aws: Aws, invoke: Invoke, action: str) -> None:
    (instance_id,) = aws.launch(tags=OPTED_IN)
    invoke(state_change_event(instance_id, "running"))
    if action == "stop":
        aws.ec2.stop_instances(InstanceIds=[instance_id])
        events = ["stopping", "stopped"]
    else:
        aws.ec2.terminate_instances(InstanceIds=[instance_id])
        events = ["shutting-down", "terminated"]
    first = invoke(state_change_event(instance_id, events[0]))
    second = invoke(state_change_event(instance_id, events[1]))
    assert len(first["deleted"]) == 1 and second["deleted"] == []
    assert aws.alarms() == {}


def test_restart_after_stop_brings_the_alarm_back(aws: Aws, invoke: Invoke) -> None:
    (instance_id,) = aws.launch(tags=OPTED_IN)
    aws.ec2.stop_instances(InstanceIds=[instance_id])
    invoke(state_change_event(instance_id, "stopped"))
    aws.ec2.start_instances(InstanceIds=[instance_id])
    result = invoke(state_change_event(instance_id, "running"))
    assert len(result["created"]) == 1 and len(aws.alarms()) == 1


def test_an_instance_ec2_no_longer_knows_loses_its_alarm(aws: Aws, invoke: Invoke) -> None:
    (instance_id,) = aws.launch(tags=OPTED_IN)
    invoke(state_change_event(instance_id, "running"))
    ghost = "i-0123456789abcdef0"
    # An alarm the manager made for an instance that has since vanished from DescribeInstances
    aws.cloudwatch.put_metric_alarm(**_managed_copy(next(iter(aws.alarms().values())), ghost))
    result = invoke(state_change_event(ghost, "terminated"))
    assert result["deleted"] == [f"{PREFIX}{ghost}"]


def test_configured_instance_ids_get_alarms_without_the_tag(aws: Aws, invoke: Invoke,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    listed, unlisted = aws.launch(count=2, tags={"Name": "legacy"})
    monkeypatch.setenv("EXTRA_INSTANCE_IDS", f"{listed}, i-0fffffffffffffff0")
    by_event = invoke(state_change_event(listed, "running"))
    assert by_event["created"] == [f"{PREFIX}{listed}-legacy"]
    aws.cloudwatch.delete_alarms(AlarmNames=by_event["created"])
    by_scan = invoke({"action": "scan"})
    assert by_scan["created"] == [f"{PREFIX}{listed}-legacy"]
    assert not any(unlisted in name for name in aws.alarms())


def test_scheduled_scan_converges_the_whole_fleet(aws: Aws, invoke: Invoke) -> None:
    opted = aws.launch(count=3, tags=OPTED_IN)
    aws.launch(count=2, tags={"Name": "other"})
    aws.ec2.stop_instances(InstanceIds=[opted[2]])
    result = invoke(scheduled_event())
    assert result["scope"] == "fleet" and result["trigger"] == "schedule"
    assert sorted(result["created"]) == sorted(f"{PREFIX}{i}-web-server-1" for i in opted[:2])


def test_alarms_without_the_marker_are_left_alone(aws: Aws, invoke: Invoke) -> None:
    # Given someone's own alarm with our prefix on an instance that is not opted in, and one on the name
    # the manager would choose for an opted-in instance
    (plain,) = aws.launch(tags={"Name": "x"})
    (opted,) = aws.launch(tags={OPT_IN_KEY: OPT_IN_VALUE})
    for instance_id in (plain, opted):
        aws.cloudwatch.put_metric_alarm(
            AlarmName=f"{PREFIX}{instance_id}", MetricName="StatusCheckFailed_Instance", Namespace="AWS/EC2",
            Statistic="Maximum", Period=300, EvaluationPeriods=1, Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            Dimensions=[{"Name": "InstanceId", "Value": instance_id}])
    before = aws.alarms()
    # When a full scan runs
    result = invoke({"action": "scan"})
    # Then neither alarm is changed or deleted, and the name clash is reported
    assert aws.alarms() == before
    assert result["created"] == [] and result["deleted"] == [] and result["updated"] == []
    assert [s["alarm_name"] for s in result["skipped"]] == [f"{PREFIX}{opted}"]


def test_a_copied_description_without_the_marker_tag_is_not_enough(aws: Aws, invoke: Invoke) -> None:
    (instance_id,) = aws.launch(tags=OPTED_IN)
    invoke(state_change_event(instance_id, "running"))
    name = next(iter(aws.alarms()))
    aws.cloudwatch.untag_resource(ResourceARN=aws.alarms()[name]["AlarmArn"], TagKeys=[MANAGED_TAG_KEY])
    aws.ec2.terminate_instances(InstanceIds=[instance_id])
    result = invoke(state_change_event(instance_id, "terminated"))
    assert result["deleted"] == [] and name in aws.alarms()
    assert [s["alarm_name"] for s in result["skipped"]] == [name]


@pytest.mark.parametrize("event", [
    {"action": "delete-everything"},
    {"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "detail": {"state": "x"}},
    {"source": "aws.tag", "detail-type": "Tag Change on Resource", "resources": [],
     "detail": {"service": "ec2", "resource-type": "instance"}},
    {"source": "aws.tag", "detail-type": "Tag Change on Resource", "resources": ["arn:aws:s3:::bucket"],
     "detail": {"service": "s3", "resource-type": "bucket"}},
    {"source": "aws.s3", "detail-type": "Object Created", "detail": {}},
])
def test_malformed_or_foreign_input_is_rejected(aws: Aws, invoke: Invoke, event: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        invoke(event)
    assert aws.calls.total() == 0


def _managed_copy(alarm: dict[str, Any], instance_id: str) -> dict[str, Any]:
    return {
        "AlarmName": f"{PREFIX}{instance_id}", "AlarmDescription": alarm["AlarmDescription"],
        "MetricName": alarm["MetricName"], "Namespace": alarm["Namespace"], "Statistic": alarm["Statistic"],
        "Period": 60, "EvaluationPeriods": 3, "Threshold": 1.0, "ComparisonOperator": alarm["ComparisonOperator"],
        "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
        "Tags": [{"Key": MANAGED_TAG_KEY, "Value": "true"}],
    }
