"""Full reconciles: bounded API calls over a large fleet, drift repair, and racing alarm actions."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from panic_button.logic.alarms.spec import MANAGED_TAG_KEY

from tests.unit_alarms.conftest import OPT_IN_KEY, OPT_IN_VALUE, PREFIX, REGION, Aws, state_change_event

Invoke = Callable[[dict[str, Any]], dict[str, Any]]
OPTED_IN = {OPT_IN_KEY: OPT_IN_VALUE, "Name": "node"}
FLEET = 1000
EC2_PAGE, ALARM_PAGE = 1000, 100


def test_reconcile_of_a_thousand_instances_uses_a_bounded_number_of_calls(aws: Aws, invoke: Invoke) -> None:
    # Given 1,000 opted-in running instances and 200 others
    aws.launch(count=FLEET, tags=OPTED_IN)
    aws.launch(count=200, tags={"Name": "other"})
    aws.calls.clear()
    # When the first scan runs
    first = invoke({"action": "scan"})
    first_calls = dict(aws.calls)
    # Then every opted-in instance has its alarm, and the calls are pages plus one write per alarm
    assert len(first["created"]) == FLEET and len(aws.alarms()) == FLEET
    reads = first_calls["DescribeInstances"] + first_calls["DescribeInstanceTypes"] + first_calls["DescribeAlarms"]
    assert first_calls["DescribeInstances"] <= math.ceil(FLEET / EC2_PAGE)
    assert first_calls["DescribeInstanceTypes"] == 1  # one type in the fleet: one batch, not one per instance
    assert first_calls["PutMetricAlarm"] == FLEET
    # instance pages, the type batch, prefix alarm pages (none yet), conflicts
    assert reads <= math.ceil(FLEET / EC2_PAGE) + 1 + 1 + 2
    assert sum(first_calls.values()) == reads + FLEET
    # When a second scan finds nothing to change
    aws.calls.clear()
    second = invoke({"action": "scan"})
    second_calls = dict(aws.calls)
    # Then it only reads: no per-alarm ListTagsForResource, no writes
    assert second["unchanged"] == FLEET and second["created"] == second["updated"] == second["deleted"] == []
    assert set(second_calls) == {"DescribeInstances", "DescribeInstanceTypes", "DescribeAlarms"}
    assert sum(second_calls.values()) <= math.ceil(FLEET / EC2_PAGE) + 1 + math.ceil(FLEET / ALARM_PAGE) + 2
    print(f"\n1,000-instance reconcile API calls: first run {sum(first_calls.values())} {first_calls}; "
          f"steady state {sum(second_calls.values())} {second_calls}")


def test_scan_repairs_drifted_configuration_and_tags(aws: Aws, invoke: Invoke) -> None:
    (instance_id,) = aws.launch(tags=OPTED_IN)
    invoke(state_change_event(instance_id, "running"))
    name = f"{PREFIX}{instance_id}-node"
    alarm = aws.alarms()[name]
    # Someone adds a reboot action and a 5-minute period, and strips an instance tag from the alarm
    aws.cloudwatch.put_metric_alarm(
        AlarmName=name, AlarmDescription=alarm["AlarmDescription"], MetricName=alarm["MetricName"],
        Namespace="AWS/EC2", Statistic="Maximum", Period=300, EvaluationPeriods=3, Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold", Dimensions=alarm["Dimensions"],
        AlarmActions=[f"arn:aws:automate:{REGION}:ec2:reboot"])
    result = invoke({"action": "scan"})
    assert result["updated"] == [name]
    repaired = aws.alarms()[name]
    assert repaired["Period"] == 60 and repaired["AlarmActions"] == []
    assert aws.alarm_tags(name)[MANAGED_TAG_KEY] == "true"


def test_racing_reboot_and_recover_actions_are_reported_and_left_alone(aws: Aws, invoke: Invoke,
                                                                        capsys: pytest.CaptureFixture[str],
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    # Given an opted-in instance with other people's alarms on its status checks
    opted, other = aws.launch(count=2, tags=OPTED_IN)
    automate = f"arn:aws:automate:{REGION}:ec2"
    legacy_reboot = f"arn:aws:swf:{REGION}:123456789012:action/actions/AWS_EC2.InstanceId.Reboot/1.0"
    _alarm(aws, "reboot-on-instance-check", opted, "StatusCheckFailed_Instance", [f"{automate}:reboot"])
    _alarm(aws, "recover-on-system-check", opted, "StatusCheckFailed_System", [f"{automate}:recover"])
    _alarm(aws, "legacy-reboot", opted, "StatusCheckFailed", [legacy_reboot])
    _alarm(aws, "reboot-on-cpu", opted, "CPUUtilization", [f"{automate}:reboot"])  # not a status check
    _alarm(aws, "notify-only", opted, "StatusCheckFailed_Instance", [f"arn:aws:sns:{REGION}:123456789012:t"])
    _alarm(aws, "reboot-other-instance", "i-0fffffffffffffff0", "StatusCheckFailed_Instance",
           [f"{automate}:reboot"])
    aws.ec2.stop_instances(InstanceIds=[other])
    before = aws.alarms()
    # When the instance is reconciled, and when the fleet is
    by_event = invoke(state_change_event(opted, "running"))
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    by_scan = invoke({"action": "scan"})
    # Then exactly the racing alarms on that instance's status checks are reported, and none is modified
    expected = ["legacy-reboot", "reboot-on-instance-check", "recover-on-system-check"]
    for result in (by_event, by_scan):
        assert [c["alarm_name"] for c in result["conflicts"]] == expected
        assert {c["instance_id"] for c in result["conflicts"]} == {opted}
    assert [m["AlarmConflicts"] for m in emitted if "AlarmConflicts" in m] == [[3.0]]
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert [c["alarm_name"] for c in warnings[0].__dict__["conflicts"]] == expected
    after = aws.alarms()
    assert {name: after[name] for name in before} == before


def _alarm(aws: Aws, name: str, instance_id: str, metric: str, actions: list[str]) -> None:
    aws.cloudwatch.put_metric_alarm(
        AlarmName=name, MetricName=metric, Namespace="AWS/EC2", Statistic="Maximum", Period=60,
        EvaluationPeriods=2, Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold",
        Dimensions=[{"Name": "InstanceId", "Value": instance_id}], AlarmActions=actions)
