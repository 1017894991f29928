"""The operator CLI against the sandbox: the stack is found by name, as on AWS."""

from __future__ import annotations

import json

import pytest
from sample_events import ALARM_STATE_CHANGE

from panic_button_cli.main import main
from panic_button_cli.simulation import simulate
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.instances import InstanceSpec
from panic_button_sandbox.sandbox import Sandbox

Deployed = tuple[Sandbox, Deployment]


def test_start_follow_and_history_see_one_rescue(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    sandbox, deployment = deployed
    instance = sandbox.launch_instance(InstanceSpec(crash_layout="debian"))
    assert main(["start", instance.instance_id, "--reason", "cli test", "--stack", deployment.stack_name]) == 0
    started = capsys.readouterr().out
    arn = next(word for word in started.split() if word.startswith("arn:aws:states:"))
    assert instance.instance_id in arn

    assert main(["follow", arn, "--stack", deployment.stack_name, "--interval", "0.1"]) == 0
    followed = capsys.readouterr().out
    assert "DUMP_COLLECTED" in followed
    assert "Kernel panic - not syncing" in followed  # the triage summary reaches the operator

    assert main(["history", "--instance", instance.instance_id, "--json", "--stack", deployment.stack_name]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["outcome"] for r in records] == ["DUMP_COLLECTED"]


def test_history_lists_runs_across_the_fleet(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    sandbox, deployment = deployed
    simulate(sandbox, deployment, InstanceSpec(tags={"Name": "untagged"}),
             [("input", '{"instance_id": "${INSTANCE_ID}"}')])
    capsys.readouterr()
    assert main(["history", "--since", "1h", "--json", "--stack", deployment.stack_name]) == 0
    outcomes = {r["outcome"] for r in json.loads(capsys.readouterr().out)}
    assert "SKIPPED_NOT_AUTHORIZED" in outcomes


def test_follow_of_an_unknown_instance_is_one_clear_line(deployed: Deployed,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    _, deployment = deployed
    assert main(["follow", "i-0123456789abcdef0", "--stack", deployment.stack_name]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "i-0123456789abcdef0" in error


def test_start_refuses_an_instance_that_is_not_opted_in(deployed: Deployed,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    sandbox, deployment = deployed
    instance = sandbox.launch_instance(InstanceSpec(tags={"Name": "not-mine"}))
    sandbox.wait_for_async_invocations()  # the alarm manager reacting to the launch writes its own logs
    capsys.readouterr()
    assert main(["start", instance.instance_id, "--stack", deployment.stack_name]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "not opted in" in error and "create-tags" in error


def test_follow_by_instance_finds_the_alarm_run_not_an_older_manual_one(
        deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    sandbox, deployment = deployed
    instance = sandbox.launch_instance(InstanceSpec())
    sandbox.wait_for_async_invocations()
    assert main(["start", instance.instance_id, "--dry-run", "--follow", "--interval", "0.1",
                 "--stack", deployment.stack_name]) == 0  # an older manual run, named after the instance
    event = json.loads(ALARM_STATE_CHANGE.read_text()
                       .replace("i-0abc1234def567890", instance.instance_id))
    [alarm_run] = sandbox.put_event(event)  # EventBridge names it with a UUID
    sandbox.wait_for_execution(alarm_run)
    capsys.readouterr()

    assert main(["follow", instance.instance_id, "--stack", deployment.stack_name, "--interval", "0.1"]) == 0
    assert "DUMP_COLLECTED" in capsys.readouterr().out
