"""`follow`: the polling loop over a fake client, and the lookups and errors through moto."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from panic_button.clock import utc_now
from panic_button.dal.record_store import RecordStore
from rich.console import Console

from panic_button_cli.operations import run_follow
from panic_button_cli.operations.executions import latest_execution_of, new_history_events
from panic_button_cli.operations.follow import FollowOptions, follow_execution
from tests.cli_operations.cli import parse
from tests.cli_operations.conftest import Deployed
from tests.cli_operations.fake_step_functions import GrowingExecution
from tests.cli_operations.history_events import CULPRIT, DUMP_URI, STARTED, TRIAGE, dump_collected_run
from tests.cli_operations.test_history import a_record

ARN = "arn:aws:states:us-east-1:123456789012:execution:Remediation:i-0123456789abcdef0-20240501T120000Z"


def _follow(polls: list[list[dict[str, Any]]]) -> tuple[int, str, list[float], GrowingExecution]:
    sfn, out, sleeps = GrowingExecution(ARN, polls), io.StringIO(), list[float]()
    options = FollowOptions(poll_seconds=0.5, sleep=sleeps.append, clock=lambda: STARTED,
                            console=Console(file=out, force_terminal=False, width=200))
    return follow_execution(sfn, ARN, options), out.getvalue(), sleeps, sfn


def test_follow_lists_each_state_once_then_the_outcome_artifacts_and_triage() -> None:
    events = dump_collected_run().events

    code, output, sleeps, _ = _follow([events[:30], events[:60], events])

    assert code == 0
    assert sleeps == [0.5, 0.5]
    lines = output.splitlines()
    state_lines = [line for line in lines if line.startswith("  +")]
    assert [line.split()[-1] for line in state_lines][:2] == ["Begin", "ResolveTarget"]
    assert sum("WaitForRecovery" in line for line in state_lines) == 1, "no line per poll: not a log flood"
    assert any(line.startswith("Outcome") and "DUMP_COLLECTED" in line for line in lines)
    assert any(DUMP_URI in line and "1.0 GiB" in line for line in lines)
    for summary_line in TRIAGE:
        assert any(line.rstrip().endswith(summary_line) for line in lines)
    # And the vmcore analysis' culprit line comes right after the outcome
    outcome_at = next(index for index, line in enumerate(lines) if line.startswith("Outcome"))
    assert lines[outcome_at + 1].split(None, 1) == ["Culprit", CULPRIT]


def test_each_poll_reads_only_the_pages_with_new_events() -> None:
    events = dump_collected_run().events
    sfn = GrowingExecution(ARN, [events[:-5], events])

    first = new_history_events(sfn, ARN, after_event_id=0)
    calls_for_the_whole_history = sfn.history_calls
    second = new_history_events(sfn, ARN, after_event_id=first[-1]["id"])

    assert [event["id"] for event in first + second] == [event["id"] for event in events]
    assert calls_for_the_whole_history == 1  # 96 events fit one page of 200
    assert sfn.history_calls == 2


def test_paging_follows_next_token_across_pages() -> None:
    events = dump_collected_run().events  # 101 events
    many = [dict(event, id=index + 1) for index, event in enumerate(events + events + events)]
    sfn = GrowingExecution(ARN, [many])

    fetched = new_history_events(sfn, ARN, after_event_id=0)

    assert len(fetched) == len(many)
    assert sfn.history_calls == 2


def test_follow_an_unknown_execution_is_exit_2_with_one_line(deployed: Deployed,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    missing = deployed.state_machine_arn.replace(":stateMachine:", ":execution:") + ":nope"

    code = run_follow(parse("follow", missing), deployed.session)

    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "not found" in err


def test_follow_rejects_a_bad_instance_id_before_calling_aws(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_follow(parse("follow", "i-nothex"), aws)

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: 'i-nothex' is not an instance ID") and err.count("\n") == 1


def test_an_instance_resolves_to_its_newest_execution_by_name(deployed: Deployed) -> None:
    sfn = deployed.client("stepfunctions")
    for name in ("i-0123456789abcdef0-20240501T110000Z", "alarm-run-1", "i-0fedcba9876543210-20240501T120000Z"):
        sfn.start_execution(stateMachineArn=deployed.state_machine_arn, name=name, input="{}")

    found = latest_execution_of(sfn, deployed.state_machine_arn, "i-0123456789abcdef0", lambda _: [])

    assert found.endswith(":i-0123456789abcdef0-20240501T110000Z")


def test_an_instance_without_a_named_execution_follows_the_one_in_its_newest_record(deployed: Deployed) -> None:
    sfn = deployed.client("stepfunctions")
    alarm_started = sfn.start_execution(stateMachineArn=deployed.state_machine_arn, name="alarm-run-2",
                                        input="{}")["executionArn"]
    store = RecordStore(deployed.client("dynamodb"), deployed.table_name)
    store.put_once(a_record("i-0123456789abcdef0", at=utc_now() - timedelta(days=1), execution="old"), expires_at=0)
    store.put_once(a_record("i-0123456789abcdef0", at=utc_now(), execution="alarm-run-2",
                            execution_id=alarm_started), expires_at=0)
    out = io.StringIO()

    code = run_follow(parse("follow", "i-0123456789abcdef0"), deployed.session,
                      FollowOptions(sleep=lambda _: None, console=Console(file=out, width=300)))

    assert out.getvalue().startswith(f"Following {alarm_started}\n")
    # moto's canned history ends with a non-JSON output, so no outcome: the execution's record supplies it.
    assert code == 0
    assert "DUMP_COLLECTED" in out.getvalue()


def test_an_execution_with_no_outcome_anywhere_is_exit_2_after_waiting_for_its_record(deployed: Deployed) -> None:
    sfn = deployed.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=deployed.state_machine_arn, name="never-recorded",
                              input="{}")["executionArn"]
    out, sleeps = io.StringIO(), list[float]()

    code = run_follow(parse("follow", arn), deployed.session,
                      FollowOptions(poll_seconds=1.0, sleep=sleeps.append, record_wait_seconds=3.0,
                                    console=Console(file=out, width=300)))

    assert code == 2
    assert sleeps == [1.0, 1.0, 1.0]  # it asked for the record, waited its three seconds, then gave up
    assert "none (execution" in out.getvalue()
