"""Issue 12 §3: a storm of alarms in the sandbox, on the synthesized stack with the cdk.json limits (5
interrupts per hour, breaker past 20 alarms in 10 minutes). Every managed alarm goes to ALARM at once.

`make bench` runs the same storm with 500 alarms (bench/storm_run.py); this one keeps the suite's time
modest with 30, still past the rate limit and the circuit breaker. No Lambda concurrency quota here: the
sandbox's serialized Lambdas are so slow in simulated time that any quota below the storm's width starves
every retry (docs/simulation.md); the quota's 429 and the workflow's Retry of it are tested on their own
(tests/sandbox/test_sandbox_lambda_concurrency.py)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench.storm_run import StormFigures, run_storm

ALARMS = 30
TIME_SCALE = 200.0


@pytest.fixture(scope="module")
def figures(cdk_out: Path, tmp_path_factory: pytest.TempPathFactory) -> StormFigures:
    return run_storm(tmp_path_factory.mktemp("storm"), cdk_out, alarms=ALARMS, time_scale=TIME_SCALE,
                     lambda_concurrency=None)


def test_interrupts_equal_the_rate_limit_exactly(figures: StormFigures) -> None:
    assert figures.interrupts == figures.rate_limit
    assert figures.outcomes.get("DUMP_COLLECTED") == figures.rate_limit


def test_every_other_execution_is_recorded_rate_limited(figures: StormFigures) -> None:
    assert figures.outcomes == {"DUMP_COLLECTED": figures.rate_limit,
                                "SKIPPED_RATE_LIMITED": ALARMS - figures.rate_limit}
    # The rate limit turns away the alarms up to the breaker's limit; the breaker every one past it.
    assert figures.skip_reasons == {"rate limit": figures.breaker_alarms - figures.rate_limit,
                                    "breaker": ALARMS - figures.breaker_alarms}


def test_no_execution_record_or_event_is_lost(figures: StormFigures) -> None:
    assert figures.executions_started == figures.alarms == ALARMS
    assert figures.statuses == {"SUCCEEDED": ALARMS}
    assert figures.records == figures.executions_with_one_record == ALARMS
    assert figures.dead_letters == 0


def test_the_alarms_went_off_within_one_minute(figures: StormFigures) -> None:
    assert figures.alarm_windows in (1, 2)  # the windows of the alarm times; the breaker counts by them
    assert figures.alarm_seconds < 60, "the storm is not a storm: the sandbox took over a minute to alarm"


def test_people_are_told_once_each_skip_in_exactly_one_summary(figures: StormFigures) -> None:
    skips = ALARMS - figures.rate_limit
    summarised = Counter(figures.summarised_skips)
    assert len(summarised) == skips and set(summarised.values()) == {1}
    assert figures.notifications["DUMP_COLLECTED"] == figures.rate_limit
    assert "SKIPPED_RATE_LIMITED" not in figures.notifications
    # One summary per window the storm touched (one, unless it straddled a boundary), one trip notice per
    # window in which the breaker tripped.
    assert figures.notifications["STORM_SUMMARY"] == figures.alarm_windows
    assert 1 <= figures.notifications["BREAKER_TRIPPED"] <= figures.alarm_windows
