"""Issue 4: a scan ({"action": "scan"}, what the schedule and operators send) heals what events missed,
and never touches an alarm without the managed marker tag."""

from __future__ import annotations

from typing import Any

from panic_button.logic.alarms.spec import MANAGED_TAG_KEY, Instance, alarm_parameters, build_spec
from panic_button.models.alarms import AlarmSettings

from tests.lifecycle.lifecycle_fleet import LifecycleFleet


def _settings(fleet: LifecycleFleet) -> AlarmSettings:
    [(key, value)] = fleet.opt_in.items()
    return AlarmSettings.model_validate({"OPT_IN_TAG_KEY": key, "OPT_IN_TAG_VALUE": value,
                                         "ALARM_NAME_PREFIX": fleet.prefix})


def _put_alarm(fleet: LifecycleFleet, parameters: dict[str, Any], tags: dict[str, str]) -> None:
    fleet.sandbox.client("cloudwatch").put_metric_alarm(
        **parameters, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def test_scan_restores_lost_alarms_removes_stale_ones_and_leaves_unmarked_ones(fleet: LifecycleFleet) -> None:
    cloudwatch, settings = fleet.sandbox.client("cloudwatch"), _settings(fleet)
    # Given an opted-in instance whose alarm someone deleted (an event the manager never saw)
    kept = fleet.launch({**fleet.opt_in, "Name": "kept"})
    [lost_alarm] = fleet.alarms_on(kept)
    cloudwatch.delete_alarms(AlarmNames=[lost_alarm])
    # And a stopped instance that still has a managed alarm (the stop event was lost)
    stopped = fleet.launch({"Name": "stopped"})
    fleet.stop(stopped)
    stale = build_spec(Instance(stopped, "running", {**fleet.opt_in, "Name": "stopped"}, "m5.large"), settings)
    _put_alarm(fleet, alarm_parameters(stale, settings), stale.tags)
    # And, on the same instance, alarms without the marker tag: one in the managed name space that copies the
    # managed description, one hand-made, and a team's own alarm outside the prefix
    copied = {**alarm_parameters(stale, settings), "AlarmName": f"{fleet.prefix}{stopped}-copied"}
    _put_alarm(fleet, copied, {"owner": "someone"})
    handmade = {**alarm_parameters(stale, settings), "AlarmName": f"{fleet.prefix}{stopped}-handmade",
                "AlarmDescription": "made by hand"}
    _put_alarm(fleet, handmade, {"owner": "someone"})
    _put_alarm(fleet, {**handmade, "AlarmName": f"team-{stopped}"}, {})
    unmarked = {name: alarm for name, alarm in fleet.alarms_on(stopped).items() if name != stale.name}
    assert len(unmarked) == 3

    # When an operator scans
    summary = fleet.scan()

    # Then the lost alarm is back and the stale managed one is gone
    assert lost_alarm in summary["created"] and stale.name in summary["deleted"]
    assert list(fleet.alarms_on(kept)) == [lost_alarm]
    # And the unmarked alarms are exactly as they were; the look-alike is reported, not deleted
    assert fleet.alarms_on(stopped) == unmarked
    assert all(MANAGED_TAG_KEY not in fleet.alarm_tags(alarm) for alarm in unmarked.values())
    assert [s["alarm_name"] for s in summary["skipped"]] == [copied["AlarmName"]]
    # And a second scan finds the whole fleet converged
    again = fleet.scan()
    assert (again["created"], again["updated"], again["deleted"]) == ([], [], [])
