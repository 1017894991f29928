"""`start` through moto: the execution exists with the right name and input; bad input costs no call."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from panic_button_cli.operations import run_start
from panic_button_cli.operations.start import execution_name
from tests.cli_operations.cli import parse, parser
from tests.cli_operations.conftest import Deployed

NOW = datetime(2024, 5, 1, 12, 0, 7, tzinfo=UTC)
INSTANCE = "i-0123456789abcdef0"


def _start(deployed: Deployed, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run_start(parse("start", *argv), deployed.session, now=lambda: NOW)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_start_names_the_execution_after_instance_and_time(deployed: Deployed,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _start(deployed, capsys, INSTANCE, "--reason", "ssh hangs")

    arn = out.splitlines()[0].removeprefix("Started ")
    execution = deployed.client("stepfunctions").describe_execution(executionArn=arn)
    assert code == 0
    assert execution["name"] == f"{INSTANCE}-20240501T120007Z"
    assert json.loads(execution["input"]) == {"instance_id": INSTANCE, "reason": "ssh hangs"}
    assert out.splitlines()[1] == ("Console https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1"
                                   f"#/v2/executions/details/{arn}")


def test_dry_run_is_passed_only_when_asked(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _start(deployed, capsys, INSTANCE, "--dry-run")

    arn = out.splitlines()[0].removeprefix("Started ")
    document = json.loads(deployed.client("stepfunctions").describe_execution(executionArn=arn)["input"])
    assert document["dry_run"] is True


def test_start_then_follow_reports_a_run_without_outcome_as_exit_2(deployed: Deployed,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _start(deployed, capsys, INSTANCE, "--follow", "--interval", "0")

    # moto runs no workflow: its canned history ends without the RecordOutcome document.
    assert code == 2
    assert "Outcome" in out and "none (execution SUCCEEDED)" in out
    assert err == "error: execution SUCCEEDED without an outcome; see the console and the workflow logs\n"


def test_a_bad_instance_id_is_exit_2_and_starts_nothing(deployed: Deployed,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _start(deployed, capsys, "i-12345")

    assert (code, out) == (2, "")
    assert err.startswith("error: 'i-12345' is not an instance ID") and err.count("\n") == 1
    executions = deployed.client("stepfunctions").list_executions(stateMachineArn=deployed.state_machine_arn)
    assert executions["executions"] == []


def test_no_credentials_names_the_fix(deployed: Deployed, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    import boto3

    code = run_start(parse("start", INSTANCE), boto3.Session(region_name="us-east-1"), now=lambda: NOW)

    assert code == 2
    assert capsys.readouterr().err == ("error: no AWS credentials found; "
                                       "configure AWS credentials (aws configure / AWS_PROFILE)\n")


def test_execution_names_are_valid_step_functions_names() -> None:
    name = execution_name("i-0123456789abcdef0", NOW)

    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", name)


def test_every_command_shows_examples_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("start", "follow", "history"):
        with pytest.raises(SystemExit) as exit_info:
            parser().parse_args([command, "--help"])
        text = capsys.readouterr().out
        assert exit_info.value.code == 0
        assert f"panic-button {command} " in text.split("examples:")[1]
        assert "--stack NAME" in text and "--profile" in text


MEMBER = "222222222222"


@pytest.mark.parametrize(("argv", "account", "region"), [
    (("--account", MEMBER, INSTANCE), MEMBER, "us-east-1"),  # the instance Region defaults to the hub's (--region)
    ((f"arn:aws:ec2:eu-west-1:{MEMBER}:instance/{INSTANCE}",), MEMBER, "eu-west-1"),
    (("--account", MEMBER, f"arn:aws:ec2:eu-west-1:{MEMBER}:instance/{INSTANCE}"), MEMBER, "eu-west-1"),
])
def test_a_member_instance_is_started_with_its_account_and_region(deployed: Deployed,
                                                                  capsys: pytest.CaptureFixture[str],
                                                                  argv: tuple[str, ...], account: str,
                                                                  region: str) -> None:
    # The member's instance is not in the operator's account: no opt-in pre-check (the hub checks it there).
    code, out, _ = _start(deployed, capsys, *argv)

    arn = out.splitlines()[0].removeprefix("Started ")
    execution = deployed.client("stepfunctions").describe_execution(executionArn=arn)
    assert code == 0
    assert execution["name"] == f"{INSTANCE}-20240501T120007Z"
    assert json.loads(execution["input"]) == {"instance_id": INSTANCE, "reason": "manual start from panic-button",
                                              "account": account, "region": region}


@pytest.mark.parametrize(("argv", "problem"), [
    (("--account", "2222", INSTANCE), "'2222' is not an account ID"),
    (("--account", "333333333333", f"arn:aws:ec2:eu-west-1:{MEMBER}:instance/{INSTANCE}"), "differs from the ARN"),
    ((f"arn:aws:ec2:eu-west-1:{MEMBER}:instance/i-12345",), "'i-12345' is not an instance ID"),
])
def test_a_bad_account_or_arn_is_exit_2_and_starts_nothing(deployed: Deployed, capsys: pytest.CaptureFixture[str],
                                                           argv: tuple[str, ...], problem: str) -> None:
    code, out, err = _start(deployed, capsys, *argv)

    assert (code, out) == (2, "")
    assert problem in err
    executions = deployed.client("stepfunctions").list_executions(stateMachineArn=deployed.state_machine_arn)
    assert executions["executions"] == []
