"""Storms end to end in the logic, against moto DynamoDB and SNS: the record step puts every rate-limited skip
of an alarm in exactly one storm window and notifies only the breaker's trip; the summariser publishes one
message per ended window, and a summariser that fails loses nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from panic_button.dal.breaker_store import BreakerStore, window_start
from panic_button.dal.guard_store import GuardStore
from panic_button.dal.record_store import RecordStore
from panic_button.dal.storm_store import StormStore
from panic_button.logic.outcome import decide_outcome
from panic_button.logic.reporting import Reported, report
from panic_button.logic.storm import StormControl
from panic_button.logic.storm_summary import publish_due_summaries
from panic_button.models.state import RemediationState

from .support import NOW, TABLE_NAME, remediation_state, target_part
from .test_reporting import FINISHED, RETENTION_DAYS, Outcomes, error, outcomes, records  # noqa: F401

WINDOW = 600
START = window_start(int(NOW.timestamp()), WINDOW)
AFTER_THE_WINDOW = datetime.fromtimestamp(START + WINDOW, tz=NOW.tzinfo)
TRIP_SUBJECT = "[Panic Button] ACTION REQUIRED: fleet circuit breaker tripped, interrupts stopped"


def skip(n: int, name: str = "RateLimited", *, trigger: str = "alarm", at: datetime = NOW) -> RemediationState:
    return remediation_state(f"alarm-run-{n}", target=target_part(f"i-{n:08x}", trigger=trigger, requested_at=at),
                             error=error(name, f"{name} for run {n}"))


def record(state: RemediationState, dynamodb: Any, outcomes: Outcomes, *,  # noqa: F811
           now: datetime = FINISHED) -> Reported:
    storm = StormControl(StormStore(dynamodb, TABLE_NAME), BreakerStore(dynamodb, TABLE_NAME), window_seconds=WINDOW)
    return report(state, decide_outcome(state), records=RecordStore(dynamodb, TABLE_NAME),
                  guards=GuardStore(dynamodb, TABLE_NAME), sns=outcomes.sns, topic_arn=outcomes.topic_arn,
                  now=now, retention_days=RETENTION_DAYS, storm=storm)


def summarise(dynamodb: Any, outcomes: Outcomes, *, now: datetime = AFTER_THE_WINDOW,  # noqa: F811
              topic_arn: str | None = None) -> list[int]:
    published = publish_due_summaries(StormStore(dynamodb, TABLE_NAME), sns=outcomes.sns,
                                      topic_arn=topic_arn or outcomes.topic_arn, now=now, window_seconds=WINDOW)
    return [summary.skips for summary in published]


def summaries(delivered: list[dict[str, Any]]) -> list[str]:
    return [m["Message"] for m in delivered if m["MessageAttributes"]["outcome"]["Value"] == "STORM_SUMMARY"]


def test_a_storm_of_skips_sends_only_the_trip_notice_then_one_summary(dynamodb: Any, outcomes: Outcomes) -> None:  # noqa: F811
    BreakerStore(dynamodb, TABLE_NAME).count_alarm(START, window_seconds=WINDOW)
    for n in range(30):
        record(skip(n, "RateLimited" if n < 5 else "BreakerOpen"), dynamodb, outcomes)
    record(skip(7, "BreakerOpen"), dynamodb, outcomes, now=FINISHED + timedelta(seconds=5))  # a retried step

    during = outcomes.delivered()
    assert summarise(dynamodb, outcomes) == [30]
    [summary] = summaries(outcomes.delivered())

    assert [m["Subject"] for m in during] == [TRIP_SUBJECT]
    assert len(records(dynamodb)) == 30
    assert all(r["outcome"]["S"] == "SKIPPED_RATE_LIMITED" and r["notified"]["BOOL"] for r in records(dynamodb))
    assert "Skipped, rate limit:  5" in summary and "Skipped, breaker:     25" in summary
    assert all(f"i-{n:08x}" in summary for n in range(30))


def test_a_window_is_summarised_only_after_it_ends_and_only_once(dynamodb: Any, outcomes: Outcomes) -> None:  # noqa: F811
    record(skip(1), dynamodb, outcomes)

    early = summarise(dynamodb, outcomes, now=AFTER_THE_WINDOW - timedelta(seconds=1))
    due = summarise(dynamodb, outcomes)
    again = summarise(dynamodb, outcomes, now=AFTER_THE_WINDOW + timedelta(minutes=1))

    assert (early, due, again) == ([], [1], [])
    assert len(summaries(outcomes.delivered())) == 1


def test_a_skip_recorded_after_its_window_closed_joins_the_next_summary(dynamodb: Any, outcomes: Outcomes) -> None:  # noqa: F811
    record(skip(1), dynamodb, outcomes)
    summarise(dynamodb, outcomes)
    record(skip(2), dynamodb, outcomes, now=AFTER_THE_WINDOW + timedelta(seconds=3))  # its alarm was in the window

    later = summarise(dynamodb, outcomes, now=AFTER_THE_WINDOW + timedelta(seconds=WINDOW))
    first, second = summaries(outcomes.delivered())

    assert later == [1]
    assert "i-00000001" in first and "i-00000002" not in first
    assert "i-00000002" in second and "i-00000001" not in second


def test_a_retried_record_step_finds_its_skip_in_the_closed_window(dynamodb: Any, outcomes: Outcomes,  # noqa: F811
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # The first attempt added the skip, then failed before taking the record's flag; the window closed meanwhile.
    state = skip(1)
    with monkeypatch.context() as patched:
        patched.setattr(RecordStore, "claim_notification", _fails)
        with pytest.raises(RuntimeError):
            record(state, dynamodb, outcomes)
    summarise(dynamodb, outcomes)

    record(state, dynamodb, outcomes, now=AFTER_THE_WINDOW + timedelta(seconds=4))

    assert summarise(dynamodb, outcomes, now=AFTER_THE_WINDOW + timedelta(seconds=2 * WINDOW)) == []
    assert len(summaries(outcomes.delivered())) == 1
    assert records(dynamodb)[0]["notified"]["BOOL"]


def test_a_refused_summary_is_sent_by_the_next_run_with_nothing_lost(dynamodb: Any, outcomes: Outcomes) -> None:  # noqa: F811
    for n in range(3):
        record(skip(n), dynamodb, outcomes)
    missing_topic = outcomes.topic_arn.replace("panic-button-outcomes", "deleted-topic")

    with pytest.raises(outcomes.sns.exceptions.NotFoundException):
        summarise(dynamodb, outcomes, topic_arn=missing_topic)
    retried = summarise(dynamodb, outcomes, now=AFTER_THE_WINDOW + timedelta(minutes=1))

    assert retried == [3]
    [summary] = summaries(outcomes.delivered())
    assert all(f"i-{n:08x}" in summary for n in range(3))


def test_a_run_that_fails_before_the_claim_is_redone_by_the_next(dynamodb: Any, outcomes: Outcomes,  # noqa: F811
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    record(skip(1), dynamodb, outcomes)
    with monkeypatch.context() as patched:
        patched.setattr(StormStore, "claim_summary", _fails)  # e.g. DynamoDB throttling past the SDK's retries
        with pytest.raises(RuntimeError):
            summarise(dynamodb, outcomes)

    assert summarise(dynamodb, outcomes, now=AFTER_THE_WINDOW + timedelta(minutes=1)) == [1]


def test_a_run_that_fails_after_the_publish_never_publishes_again(dynamodb: Any, outcomes: Outcomes,  # noqa: F811
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    record(skip(1), dynamodb, outcomes)
    with monkeypatch.context() as patched:
        patched.setattr(StormStore, "mark_summarised", _fails)
        with pytest.raises(RuntimeError):
            summarise(dynamodb, outcomes)

    assert summarise(dynamodb, outcomes, now=AFTER_THE_WINDOW + timedelta(minutes=1)) == []
    assert len(summaries(outcomes.delivered())) == 1


def test_outcomes_that_need_a_person_still_notify_one_by_one(dynamodb: Any, outcomes: Outcomes) -> None:  # noqa: F811
    for n, name in enumerate(["NotRecovered", "NotRecovered", "WorkflowFailed"]):
        record(skip(n, name), dynamodb, outcomes)

    assert [m["MessageAttributes"]["outcome"]["Value"] for m in outcomes.delivered()] == [
        "NOT_RECOVERED", "NOT_RECOVERED", "WORKFLOW_FAILED"]
    assert summarise(dynamodb, outcomes) == []


def test_an_operators_own_run_that_is_rate_limited_is_notified_alone(dynamodb: Any, outcomes: Outcomes) -> None:  # noqa: F811
    reported = record(skip(1, trigger="manual"), dynamodb, outcomes)

    assert reported.message_id is not None
    assert [m["MessageAttributes"]["outcome"]["Value"] for m in outcomes.delivered()] == ["SKIPPED_RATE_LIMITED"]
    assert summarise(dynamodb, outcomes) == []


def test_a_full_window_passes_its_skips_to_the_next(dynamodb: Any, outcomes: Outcomes,  # noqa: F811
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("panic_button.dal.storm_store.MAX_ENTRIES", 2)
    for n in range(5):
        record(skip(n), dynamodb, outcomes)

    counts = summarise(dynamodb, outcomes, now=AFTER_THE_WINDOW + timedelta(seconds=3 * WINDOW))

    assert counts == [2, 2, 1]
    assert sorted(text.count("rate limit\n") for text in summaries(outcomes.delivered())) == [1, 2, 2]


def _fails(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("the call failed past the SDK's retries")
