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
from panic_button_sandbox.faults.spec import FaultSpec

ALARMS = 30
TIME_SCALE = 100.0  # the few rescues' collection timeouts still hold on a loaded host (docs/simulation.md)


# The burst's throttling, as each service answers it: Step Functions' Lambda invokes (TooManyRequestsException,
# Lambda's concurrency refusal), DynamoDB (ProvisionedThroughputExceededException), EC2, SNS, CloudWatch.
# Throttling only: a 5xx on SendDiagnosticInterrupt would change the interrupt count by design (docs/simulation.md).
THROTTLED = FaultSpec(throttle=0.3, seed=1)


@pytest.fixture(scope="module", params=[None, THROTTLED], ids=["calm", "throttled"])
def figures(request: pytest.FixtureRequest, sandbox_cdk_out: Path,
            tmp_path_factory: pytest.TempPathFactory) -> StormFigures:
    return run_storm(tmp_path_factory.mktemp("storm"), sandbox_cdk_out, alarms=ALARMS, time_scale=TIME_SCALE,
                     lambda_concurrency=None, faults=request.param)


def test_the_throttled_storm_met_every_service_s_throttling(figures: StormFigures,
                                                             request: pytest.FixtureRequest) -> None:
    expected = {"TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"}
    if "throttled" in request.node.callspec.id:
        assert expected <= set(figures.faults_injected), figures.faults_injected
    else:
        assert figures.faults_injected == {}


def test_interrupts_equal_the_rate_limit_exactly(figures: StormFigures) -> None:
    assert figures.interrupts == figures.rate_limit


def test_every_other_execution_is_recorded_rate_limited(figures: StormFigures) -> None:
    assert figures.outcomes["SKIPPED_RATE_LIMITED"] == ALARMS - figures.rate_limit
    # The interrupted ones end as rescues do; which rescue outcome is the collection's business, not the storm's.
    rescued = {outcome: n for outcome, n in figures.outcomes.items() if outcome != "SKIPPED_RATE_LIMITED"}
    assert sum(rescued.values()) == figures.rate_limit
    assert set(rescued) <= {"DUMP_COLLECTED", "RECOVERED_NO_DUMP", "COLLECTION_FAILED"}
    # The rate limit turns away the alarms up to the breaker's limit; the breaker every one past it. Under
    # throttling an ApplyGuards retried after its count went through counts its alarm again
    # (breaker_store.count_alarm), so the breaker may trip a few alarms early, never late.
    calm = {"rate limit": figures.breaker_alarms - figures.rate_limit, "breaker": ALARMS - figures.breaker_alarms}
    if not figures.faults_injected:
        assert figures.skip_reasons == calm
    assert sum(figures.skip_reasons.values()) == ALARMS - figures.rate_limit
    assert figures.skip_reasons.get("breaker", 0) >= calm["breaker"], figures.skip_reasons


def test_no_execution_record_or_event_is_lost(figures: StormFigures) -> None:
    assert figures.executions_started == figures.alarms == ALARMS
    assert figures.statuses == {"SUCCEEDED": ALARMS}, figures.failure_reasons
    assert figures.records == figures.executions_with_one_record == ALARMS
    assert figures.dead_letters == 0


def test_people_are_told_once_each_skip_in_exactly_one_summary(figures: StormFigures) -> None:
    skips = ALARMS - figures.rate_limit
    summarised = Counter(figures.summarised_skips)
    assert len(summarised) == skips and set(summarised.values()) == {1}
    one_by_one = {o: n for o, n in figures.notifications.items() if o not in ("STORM_SUMMARY", "BREAKER_TRIPPED")}
    assert one_by_one == {o: n for o, n in figures.outcomes.items() if o != "SKIPPED_RATE_LIMITED"}
    # One summary per window the storm touched (one, unless it straddled a boundary), one trip notice per
    # window in which the breaker tripped.
    assert figures.notifications["STORM_SUMMARY"] == figures.alarm_windows
    assert 1 <= figures.notifications["BREAKER_TRIPPED"] <= figures.alarm_windows
