"""No rescue alarm for an instance whose type cannot take a diagnostic interrupt (issue 8 §4): none is
created, a managed one left from before is deleted, and each such instance is logged once per reconcile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.unit_alarms.conftest import OPT_IN_KEY, OPT_IN_VALUE, PREFIX, Aws, state_change_event

Invoke = Callable[[dict[str, Any]], dict[str, Any]]
OPTED_IN = {OPT_IN_KEY: OPT_IN_VALUE}
GRAVITON = "is powered by an AWS Graviton (arm64) processor; diagnostic interrupts need x86_64 Nitro"
LOGGED = "no rescue alarm: the instance type cannot take a diagnostic interrupt"


def unsupported_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [r.__dict__["unsupported_instance"] for r in caplog.records if r.getMessage() == LOGGED]


def test_an_opted_in_graviton_instance_gets_no_alarm_and_one_log_line(aws: Aws, invoke: Invoke,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    (instance_id,) = aws.launch(tags=OPTED_IN, instance_type="m7g.large")

    result = invoke(state_change_event(instance_id, "running"))

    assert result["created"] == [] and aws.alarms() == {}
    expected = {"instance_id": instance_id, "instance_type": "m7g.large", "reason": f"m7g.large {GRAVITON}"}
    assert result["unsupported"] == [expected]
    assert unsupported_lines(caplog) == [expected]


def test_a_fleet_scan_alarms_only_the_rescuable_types(aws: Aws, invoke: Invoke, monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    # Given opted-in instances on x86_64 Nitro, x86_64 bare metal, Graviton (A1 and newer), Xen and Mac
    supported = {aws.launch(tags=OPTED_IN, instance_type=t)[0]: t for t in ("m5.large", "m5.metal")}
    refused = {aws.launch(tags=OPTED_IN, instance_type=t)[0]: t
               for t in ("m7g.large", "a1.large", "t2.micro", "mac1.metal")}
    more_graviton = aws.launch(count=3, tags=OPTED_IN, instance_type="m7g.large")
    # And one Graviton instance both tagged and listed in the configuration
    monkeypatch.setenv("EXTRA_INSTANCE_IDS", more_graviton[0])
    refused.update(dict.fromkeys(more_graviton, "m7g.large"))
    aws.calls.clear()

    result = invoke({"action": "scan"})

    # Then only the supported instances have alarms
    assert {alarm["Dimensions"][0]["Value"] for alarm in aws.alarms().values()} == set(supported)
    # And each refused instance is reported and logged exactly once, with a reason naming its type
    logged = unsupported_lines(caplog)
    assert sorted(line["instance_id"] for line in logged) == sorted(refused)
    assert result["unsupported"] == logged
    reasons = {line["instance_id"]: line["reason"] for line in logged}
    assert all(reasons[i].startswith(f"{t} ") for i, t in refused.items())
    assert reasons[more_graviton[0]] == f"m7g.large {GRAVITON}"
    # And six distinct types cost one DescribeInstanceTypes call
    assert aws.calls["DescribeInstanceTypes"] == 1


def test_a_managed_alarm_is_deleted_when_the_instance_comes_back_as_graviton(aws: Aws, invoke: Invoke) -> None:
    # Given an x86_64 instance with its alarm
    (instance_id,) = aws.launch(tags=OPTED_IN)
    [name] = invoke(state_change_event(instance_id, "running"))["created"]
    # When it is resized to a Graviton type (the stop event was lost) and its start event arrives
    aws.ec2.stop_instances(InstanceIds=[instance_id])
    aws.ec2.modify_instance_attribute(InstanceId=instance_id, InstanceType={"Value": "m7g.large"})
    aws.ec2.start_instances(InstanceIds=[instance_id])
    started = invoke(state_change_event(instance_id, "running"))
    # Then its alarm is deleted, and the reason is in the result
    assert started["deleted"] == [name] and started["created"] == [] and aws.alarms() == {}
    assert [u["instance_id"] for u in started["unsupported"]] == [instance_id]


def test_a_scan_deletes_a_managed_alarm_left_on_a_graviton_instance(aws: Aws, invoke: Invoke) -> None:
    # Given a Graviton instance with the alarm an earlier version of the manager created for it
    (instance_id,) = aws.launch(tags=OPTED_IN)
    [name] = invoke({"action": "scan"})["created"]
    aws.ec2.stop_instances(InstanceIds=[instance_id])
    aws.ec2.modify_instance_attribute(InstanceId=instance_id, InstanceType={"Value": "c7g.large"})
    aws.ec2.start_instances(InstanceIds=[instance_id])  # the events of the resize were lost
    assert name in aws.alarms()

    result = invoke({"action": "scan"})

    assert result["deleted"] == [name] and aws.alarms() == {}
    assert [u["instance_type"] for u in result["unsupported"]] == ["c7g.large"]


def test_an_event_for_an_instance_that_is_not_opted_in_describes_no_type(aws: Aws, invoke: Invoke) -> None:
    (instance_id,) = aws.launch(tags={"Name": "not mine"}, instance_type="m7g.large")
    aws.calls.clear()

    result = invoke(state_change_event(instance_id, "running"))

    assert result["unsupported"] == [] and "DescribeInstanceTypes" not in aws.calls
    assert not any(name.startswith(PREFIX) for name in aws.alarms())
