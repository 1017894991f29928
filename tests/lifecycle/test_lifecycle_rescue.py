"""Issue 4, "Done when": the alarm that tagging created starts the workflow when it fires, and
`panic-button follow` shows that run to its outcome."""

from __future__ import annotations

import json

import pytest

from panic_button_cli.main import main
from tests.lifecycle.lifecycle_fleet import LifecycleFleet


def test_the_managed_alarm_going_to_alarm_starts_the_rescue_and_follow_shows_it_done(
        fleet: LifecycleFleet, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a hung instance that was opted in by tagging, so the alarm manager gave it an alarm
    instance_id = fleet.launch({"Name": "hung"})
    fleet.tag(instance_id, fleet.opt_in)
    [alarm_name] = fleet.alarms_on(instance_id)

    # When CloudWatch moves that alarm to ALARM
    [execution_arn] = fleet.sandbox.set_alarm_state(alarm_name, "ALARM")

    # Then the workflow started from that alarm's event, for that instance
    stepfunctions = fleet.sandbox.client("stepfunctions")
    started = json.loads(stepfunctions.describe_execution(executionArn=execution_arn)["input"])
    assert (started["source"], started["detail"]["alarmName"]) == ("aws.cloudwatch", alarm_name)
    # And `panic-button follow` shows it to DUMP_COLLECTED, exiting 0
    stack = fleet.deployment.stack_name
    assert main(["follow", execution_arn, "--stack", stack, "--interval", "0.1"]) == 0
    followed = capsys.readouterr().out
    assert "DUMP_COLLECTED" in followed
    assert fleet.sandbox.interrupt_count(instance_id) == 1
