"""Issue 4: the deployed alarm rule's pattern (checked with TestEventPattern) matches the real ALARM events
of managed alarms, and not OK transitions, alarms with another prefix, or EC2 events."""

from __future__ import annotations

from typing import Any

import pytest

from tests.lifecycle.lifecycle_fleet import LifecycleFleet

# The AlarmTrigger construct's rule; the other rules belong to the alarm manager.
ALARM_RULE = "TriggerAlarmRule"


@pytest.fixture(scope="module")
def real_events(fleet: LifecycleFleet) -> dict[str, list[dict[str, Any]]]:
    """What EventBridge really received while a managed alarm fired and recovered, and others changed."""
    cloudwatch = fleet.sandbox.client("cloudwatch")
    with fleet.captured_events("aws.cloudwatch", "aws.ec2", "aws.tag") as captured:
        instance_id = fleet.launch({"Name": "rule check"})
        fleet.tag(instance_id, fleet.opt_in)
        [managed] = fleet.alarms_on(instance_id)
        [execution_arn] = fleet.sandbox.set_alarm_state(managed, "ALARM")
        fleet.sandbox.wait_for_execution(execution_arn)
        assert fleet.sandbox.set_alarm_state(managed, "OK") == []
        other = f"other-team-{instance_id}"
        cloudwatch.put_metric_alarm(
            AlarmName=other, MetricName="StatusCheckFailed_Instance", Namespace="AWS/EC2", Statistic="Maximum",
            Dimensions=[{"Name": "InstanceId", "Value": instance_id}], Period=60, EvaluationPeriods=3,
            Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold")
        assert fleet.sandbox.set_alarm_state(other, "ALARM") == []
    alarm_events = [e for e in captured if e["source"] == "aws.cloudwatch"]
    return {
        "managed ALARM": [e for e in alarm_events if e["detail"]["alarmName"] == managed
                          and e["detail"]["state"]["value"] == "ALARM"],
        "managed OK": [e for e in alarm_events if e["detail"]["alarmName"] == managed
                       and e["detail"]["state"]["value"] == "OK"],
        "other prefix ALARM": [e for e in alarm_events if e["detail"]["alarmName"] == other],
        "EC2 state and tag": [e for e in captured if e["source"] in ("aws.ec2", "aws.tag")],
    }


def test_the_rule_matches_the_managed_alarms_real_alarm_event(fleet: LifecycleFleet,
                                                             real_events: dict[str, list[dict[str, Any]]]) -> None:
    [alarm_event] = real_events["managed ALARM"]
    assert fleet.rule_name(ALARM_RULE) in fleet.sandbox.rule_matches(alarm_event)


@pytest.mark.parametrize("kind", ["managed OK", "other prefix ALARM", "EC2 state and tag"])
def test_the_rule_ignores_other_real_events(fleet: LifecycleFleet, real_events: dict[str, list[dict[str, Any]]],
                                            kind: str) -> None:
    events = real_events[kind]
    assert events, f"no {kind} event was captured"
    rule = fleet.rule_name(ALARM_RULE)
    assert [e["detail-type"] for e in events if rule in fleet.sandbox.rule_matches(e)] == []


def test_the_alarm_managers_rules_take_the_real_ec2_events_the_alarm_rule_ignores(
        fleet: LifecycleFleet, real_events: dict[str, list[dict[str, Any]]]) -> None:
    state_rule = fleet.rule_name("AlarmManagerInstanceStateRule")
    tag_rule = fleet.rule_name("AlarmManagerInstanceTagRule")
    taken = {(e["detail-type"], e["detail"].get("state")): fleet.sandbox.rule_matches(e)
             for e in real_events["EC2 state and tag"]}
    assert taken == {
        ("EC2 Instance State-change Notification", "pending"): [],  # not a state the manager watches
        ("EC2 Instance State-change Notification", "running"): [state_rule],
        ("Tag Change on Resource", None): [tag_rule],
    }
