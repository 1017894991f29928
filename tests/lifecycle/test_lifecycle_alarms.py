"""Issue 4, alarm lifecycle in the sandbox: EC2 calls alone (tag, untag, stop, start, terminate) drive the
deployed rules and the real alarm manager, and the alarm set follows."""

from __future__ import annotations

from tests.lifecycle.lifecycle_fleet import LifecycleFleet

MANAGED_MARKER = {"panic-button:managed": "true"}


def test_tagging_a_running_instance_creates_exactly_one_managed_alarm(fleet: LifecycleFleet) -> None:
    # Given a running instance that is not opted in: it has no alarm
    instance_id = fleet.launch({"Name": "web server 1", "team": "payments"})
    assert fleet.alarms_on(instance_id) == {}
    # When a platform team tags it
    fleet.tag(instance_id, fleet.opt_in)
    # Then exactly one alarm watches it: readable name, status check metric, the instance's tags and the marker
    [(name, alarm)] = fleet.alarms_on(instance_id).items()
    assert name == f"{fleet.prefix}{instance_id}-web-server-1"
    assert (alarm["MetricName"], alarm["Statistic"], alarm["Period"]) == ("StatusCheckFailed_Instance", "Maximum", 60)
    assert fleet.alarm_tags(alarm) == {"Name": "web server 1", "team": "payments", **fleet.opt_in, **MANAGED_MARKER}
    # And another tag change updates that alarm rather than adding one
    fleet.tag(instance_id, {"team": "checkout"})
    [(same_name, updated)] = fleet.alarms_on(instance_id).items()
    assert same_name == name and fleet.alarm_tags(updated)["team"] == "checkout"


def test_launching_an_opted_in_instance_creates_its_alarm(fleet: LifecycleFleet) -> None:
    instance_id = fleet.launch({**fleet.opt_in})
    assert list(fleet.alarms_on(instance_id)) == [f"{fleet.prefix}{instance_id}"]


def test_untag_stop_start_and_terminate_each_change_the_alarm_set(fleet: LifecycleFleet) -> None:
    instance_id = fleet.launch({**fleet.opt_in, "Name": "db"})
    expected = [f"{fleet.prefix}{instance_id}-db"]
    assert list(fleet.alarms_on(instance_id)) == expected

    [opt_in_key] = fleet.opt_in
    fleet.untag(instance_id, opt_in_key)
    assert fleet.alarms_on(instance_id) == {}, "removing the tag deletes the alarm"

    fleet.tag(instance_id, fleet.opt_in)
    assert list(fleet.alarms_on(instance_id)) == expected, "tagging again re-creates it"

    fleet.stop(instance_id)
    assert fleet.alarms_on(instance_id) == {}, "a stopped instance has no alarm"

    fleet.start(instance_id)
    assert list(fleet.alarms_on(instance_id)) == expected, "running again re-creates it"

    fleet.terminate(instance_id)
    assert fleet.alarms_on(instance_id) == {}, "a terminated instance has no alarm"
