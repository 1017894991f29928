"""The record step in a storm: rate-limited skips are recorded one by one but not notified one by one;
the breaker's trip is notified once; the first skip of a window owes its summary. moto DynamoDB and SNS."""

from __future__ import annotations

from typing import Any

from panic_button.dal.breaker_store import BreakerStore, window_start
from panic_button.dal.guard_store import GuardStore
from panic_button.dal.record_store import RecordStore
from panic_button.dal.storm_store import StormStore
from panic_button.logic.outcome import decide_outcome
from panic_button.logic.reporting import Reported, report
from panic_button.logic.storm import StormControl, summary_body
from panic_button.models.state import RemediationState

from .support import NOW, TABLE_NAME, remediation_state, target_part
from .test_reporting import FINISHED, RETENTION_DAYS, Outcomes, error, outcomes, records  # noqa: F401

WINDOW = 600


def skip(n: int, name: str = "RateLimited") -> RemediationState:
    return remediation_state(f"alarm-run-{n}", target=target_part(f"i-{n:08x}", trigger="alarm"),
                             error=error(name, f"{name} for run {n}"))


def run(state: RemediationState, dynamodb: Any, outcomes: Outcomes) -> Reported:  # noqa: F811
    storm = StormControl(StormStore(dynamodb, TABLE_NAME), BreakerStore(dynamodb, TABLE_NAME), window_seconds=WINDOW)
    return report(state, decide_outcome(state), records=RecordStore(dynamodb, TABLE_NAME),
                  guards=GuardStore(dynamodb, TABLE_NAME), sns=outcomes.sns, topic_arn=outcomes.topic_arn,
                  now=FINISHED, retention_days=RETENTION_DAYS, storm=storm)


def test_a_storm_of_skips_sends_only_the_trip_notice(dynamodb: Any, outcomes: Outcomes) -> None:  # noqa: F811
    BreakerStore(dynamodb, TABLE_NAME).count_alarm(window_start(int(NOW.timestamp()), WINDOW), window_seconds=WINDOW)
    reported = [run(skip(n, "RateLimited" if n < 5 else "BreakerOpen"), dynamodb, outcomes) for n in range(30)]
    run(skip(7, "BreakerOpen"), dynamodb, outcomes)  # a retried record step

    delivered = outcomes.delivered()
    assert [m["Subject"] for m in delivered] == [
        "[Panic Button] ACTION REQUIRED: fleet circuit breaker tripped, interrupts stopped"]
    assert len(records(dynamodb)) == 30
    assert all(r["outcome"]["S"] == "SKIPPED_RATE_LIMITED" and r["notified"]["BOOL"] for r in records(dynamodb))
    assert [r.storm_window is not None for r in reported] == [True] + [False] * 29


def test_the_window_collects_every_skip_once_with_its_reason(dynamodb: Any, outcomes: Outcomes) -> None:  # noqa: F811
    for n in range(4):
        run(skip(n, "RateLimited" if n < 2 else "BreakerOpen"), dynamodb, outcomes)
    run(skip(3, "BreakerOpen"), dynamodb, outcomes)
    window = window_start(int(NOW.timestamp()), WINDOW)

    skips = StormStore(dynamodb, TABLE_NAME).skips(window)

    assert (skips.rate_limited, skips.breaker) == (["i-00000000", "i-00000001"], ["i-00000002", "i-00000003"])
    body = summary_body(skips, window=window, window_seconds=WINDOW)
    assert "Skipped, rate limit:  2" in body and "Skipped, breaker:     2" in body and "i-00000003" in body


def test_outcomes_that_need_a_person_still_notify_one_by_one(dynamodb: Any, outcomes: Outcomes) -> None:  # noqa: F811
    for n in range(3):
        run(remediation_state(f"run-{n}", target=target_part(f"i-{n:08x}", trigger="alarm"),
                              error=error("NotRecovered", "still impaired")), dynamodb, outcomes)

    assert [m["MessageAttributes"]["outcome"]["Value"] for m in outcomes.delivered()] == ["NOT_RECOVERED"] * 3
