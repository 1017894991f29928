"""Bad arguments of start, follow, history and readiness are refused first: one line with the fix, exit
code 2, before the Region, the session or any AWS call (moto is active, so a check that lets bad input
through shows up as a different message or a started execution, never as a real call)."""

from __future__ import annotations

import pytest

from panic_button_cli.main import main
from tests.cli_operations.conftest import Deployed

INSTANCE = "i-0123456789abcdef0"
ARN = f"arn:aws:states:us-east-1:123456789012:execution:Remediation:{INSTANCE}-20240501T120007Z"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _started(deployed: Deployed) -> list[str]:
    sfn = deployed.client("stepfunctions")
    return [e["name"] for e in sfn.list_executions(stateMachineArn=deployed.state_machine_arn)["executions"]]


def test_follow_checks_its_target_before_it_needs_a_region(aws: object, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)

    code, _, err = _run(capsys, "follow", "not-an-arn")

    assert code == 2
    assert err == ("error: 'not-an-arn' is neither an execution ARN nor an instance ID; pass "
                   "arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME or an ID like i-0123456789abcdef0\n")


def test_follow_refuses_an_arn_that_is_no_execution(aws: object, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "follow", "arn:aws:states:us-east-1:123456789012:stateMachine:Remediation")

    assert code == 2
    assert err.startswith("error: 'arn:aws:states:us-east-1:123456789012:stateMachine:Remediation' is not an "
                          "execution ARN; pass arn:aws:states:")


def test_a_reason_over_the_workflow_limit_starts_nothing(deployed: Deployed,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "start", INSTANCE, "--reason", "x" * 100_000)

    assert (code, out) == (2, "")
    assert err == "error: --reason is 100,000 characters; the workflow accepts at most 500; shorten it\n"
    assert _started(deployed) == []


def test_a_reason_of_exactly_the_limit_is_started(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "start", INSTANCE, "--reason", "x" * 500)

    assert code == 0, err
    assert len(_started(deployed)) == 1


def test_start_help_states_the_reason_limit(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["start", "--help"])

    assert "at most 500 characters" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(("argv", "expected"), [
    (["start", INSTANCE, "--interval", "-1"],
     "error: --interval -1 is not a number of seconds 0 or more; pass e.g. --interval 2\n"),
    (["follow", ARN, "--interval", "-1"],
     "error: --interval -1 is not a number of seconds 0 or more; pass e.g. --interval 2\n"),
    (["follow", ARN, "--interval", "nan"],
     "error: --interval nan is not a number of seconds 0 or more; pass e.g. --interval 2\n"),
    (["readiness", "--timeout", "-1"],
     "error: --timeout -1 is not a number of seconds more than 0; pass e.g. --timeout 120\n"),
    (["readiness", "--timeout", "0"],
     "error: --timeout 0 is not a number of seconds more than 0; pass e.g. --timeout 120\n"),
    (["history", "--since", "-5h"],
     "error: --since '-5h' is not a duration; use a number and m, h or d: 30m, 6h, 7d\n"),
], ids=["start-interval", "follow-interval", "follow-interval-nan", "readiness-timeout", "readiness-timeout-0",
        "history-since"])
def test_numbers_and_durations_are_checked(deployed: Deployed, capsys: pytest.CaptureFixture[str],
                                           argv: list[str], expected: str) -> None:
    code, out, err = _run(capsys, *argv)

    assert (code, out, err) == (2, "", expected)
    assert _started(deployed) == []


@pytest.mark.parametrize("command", [["start", INSTANCE], ["follow", ARN], ["history"], ["readiness"]],
                         ids=lambda argv: argv[0])
def test_a_stack_name_cloudformation_would_refuse_is_refused_here(aws: object, capsys: pytest.CaptureFixture[str],
                                                                  command: list[str]) -> None:
    code, _, err = _run(capsys, *command, "--stack", "bad stack")

    assert code == 2
    assert err == ("error: --stack 'bad stack' is not a CloudFormation stack name; "
                   "use letters, digits and hyphens, starting with a letter (at most 128)\n")


def test_an_unknown_option_shows_the_commands_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["start", INSTANCE, "--bogus"])

    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.startswith("usage: panic-button start ")
    assert err.endswith("panic-button start: error: unrecognized arguments: --bogus\n")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exited:
        main(["--version"])

    assert exited.value.code == 0
    assert capsys.readouterr().out == f"panic-button {version('panic-button')}\n"
