"""The pure fold of GetExecutionHistory events into progress and a result."""

from __future__ import annotations

from datetime import timedelta

from panic_button.outcomes import Outcome

from panic_button_cli.operations.progress import ExecutionProgress, execution_result
from panic_button_cli.operations.progress_view import current_line
from tests.cli_operations.history_events import (
    DUMP_URI,
    STARTED,
    TRIAGE,
    HistoryBuilder,
    dump_collected_run,
    final_state,
    until_recovery_wait,
)


def test_a_collected_dump_gives_outcome_artifacts_triage_and_exit_0() -> None:
    progress = ExecutionProgress()

    entered = progress.apply(dump_collected_run().events)

    result = execution_result(progress)
    assert (progress.status, result.outcome, result.exit_code) == ("SUCCEEDED", Outcome.DUMP_COLLECTED, 0)
    assert result.artifacts == [(DUMP_URI, 1073741824, "dump")]
    assert result.triage_summary == TRIAGE
    names = [visit.name for visit in entered]
    assert names[:3] == ["Begin", "ResolveTarget", "CheckEligibility"]
    assert names.count("WaitForRecovery") == 1, "a loop state is listed once, not once per poll"
    assert progress.visits["CheckRecovery"].visits == 2
    assert progress.ended_at is not None
    assert progress.elapsed(now=progress.ended_at + timedelta(hours=1)) == (progress.ended_at - STARTED).total_seconds()


def test_events_seen_before_are_skipped_so_polls_can_overlap() -> None:
    events = dump_collected_run().events
    progress = ExecutionProgress()

    first = progress.apply(events[:20])
    finished_after_first_poll = progress.finished
    again = progress.apply(events)

    assert (finished_after_first_poll, progress.finished) == (False, True)
    assert {visit.name for visit in first}.isdisjoint({visit.name for visit in again})
    assert progress.last_event_id == events[-1]["id"]
    assert progress.visits["ResolveTarget"].visits == 1


def test_a_running_execution_shows_the_current_state_and_its_poll_count() -> None:
    history = until_recovery_wait()
    history.state("Wait", "WaitForRecovery", seconds=30).state("Task", "CheckRecovery")
    history.state("Choice", "RecoveryDone?", seconds=0).state("Wait", "WaitForRecovery", seconds=0, exits=False)
    progress = ExecutionProgress()

    progress.apply(history.events)

    assert not progress.finished
    line = current_line(progress, history.now + timedelta(seconds=12))
    assert line.startswith("WaitForRecovery (poll 2) 12s in state")
    assert execution_result(progress).exit_code == 2


def test_workflow_failed_takes_the_outcome_recorded_before_the_fail_state() -> None:
    document = final_state("WORKFLOW_FAILED", "Lambda.Unknown: boom", with_dump=False)
    history = until_recovery_wait().state("Task", "RecordOutcome", output=document)
    history.state("Choice", "Outcome?", seconds=0).state("Fail", "WorkflowFailed", seconds=0, exits=False)
    history.failed("WorkflowFailed", "An unexpected error stopped the remediation")
    progress = ExecutionProgress()

    progress.apply(history.events)

    result = execution_result(progress)
    assert (progress.status, result.outcome, result.exit_code) == ("FAILED", Outcome.WORKFLOW_FAILED, 1)
    assert result.reason == "Lambda.Unknown: boom"
    assert result.artifacts == []


def test_a_skip_outcome_exits_1() -> None:
    document = final_state("SKIPPED_COOLDOWN", "instance remediated 12 minutes ago", with_dump=False)
    history = HistoryBuilder().state("Task", "ApplyGuards").state("Task", "RecordOutcome", output=document)
    progress = ExecutionProgress()

    progress.apply(history.succeeded(document).events)

    assert execution_result(progress).exit_code == 1


def test_failed_without_an_outcome_is_an_error_exit_2() -> None:
    history = HistoryBuilder().state("Task", "RecordOutcome", exits=False)
    history.failed("RecordFailed", "The outcome could not be recorded")
    progress = ExecutionProgress()

    progress.apply(history.events)

    result = execution_result(progress)
    assert (result.outcome, result.exit_code, result.status) == (None, 2, "FAILED")
    assert result.error == "RecordFailed: The outcome could not be recorded"
