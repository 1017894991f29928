"""The fleet circuit breaker in ApplyGuards: alarms counted per fixed window, tripped past the limit,
reset by the next window or by `panic-button resume`, against a moto DynamoDB table."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

import pytest
from panic_button.dal.breaker_store import BreakerStore, window_start
from panic_button.dal.guard_store import GuardStore
from panic_button.errors import BreakerOpen
from panic_button.logic.guards import Breaker, apply_guards
from panic_button.models.state import Target

from .support import NOW, TABLE_NAME, target_part

WINDOW = 600
LIMIT = 3


def alarm(n: int, *, at: datetime = NOW, dry_run: bool = False, trigger: str = "alarm") -> Target:
    return Target.model_validate(target_part(f"i-{n:08x}", requested_at=at, dry_run=dry_run, trigger=trigger,
                                             alarm_name=f"panic-button-i-{n:08x}"))


@pytest.fixture
def breaker(dynamodb: Any) -> Breaker:
    return Breaker(BreakerStore(dynamodb, TABLE_NAME), alarms=LIMIT, window_seconds=WINDOW)


def guard(dynamodb: Any, breaker: Breaker, target: Target, *, rate_limit: int = 100) -> None:
    apply_guards(GuardStore(dynamodb, TABLE_NAME), target, owner=f"run-{target.instance_id}", now=NOW,
                 cooldown_seconds=3600, rate_limit=rate_limit, lock_seconds=7200, breaker=breaker)


def test_the_alarm_past_the_limit_trips_with_the_breaker_reason(dynamodb: Any, breaker: Breaker) -> None:
    for n in range(LIMIT):
        guard(dynamodb, breaker, alarm(n))

    with pytest.raises(BreakerOpen, match=r"circuit breaker tripped: 4 alarms .* \(limit 3\).*panic-button resume"):
        guard(dynamodb, breaker, alarm(LIMIT))


def test_the_next_window_resets_the_breaker(dynamodb: Any, breaker: Breaker) -> None:
    for n in range(LIMIT + 1):
        with contextlib.suppress(BreakerOpen):
            guard(dynamodb, breaker, alarm(n))
    later = datetime.fromtimestamp(window_start(int(NOW.timestamp()), WINDOW) + WINDOW, tz=NOW.tzinfo)

    guard(dynamodb, breaker, alarm(99, at=later))  # no BreakerOpen


def test_resume_resets_the_count_of_the_current_window(dynamodb: Any, breaker: Breaker) -> None:
    for n in range(LIMIT):
        guard(dynamodb, breaker, alarm(n))
    breaker.store.reset(window_start(int(NOW.timestamp()), WINDOW))

    for n in range(LIMIT, 2 * LIMIT):
        guard(dynamodb, breaker, alarm(n))
    with pytest.raises(BreakerOpen):
        guard(dynamodb, breaker, alarm(2 * LIMIT))


def test_manual_runs_are_not_counted(dynamodb: Any, breaker: Breaker) -> None:
    for n in range(LIMIT * 2):
        guard(dynamodb, breaker, alarm(n, trigger="manual"))

    assert breaker.store.alarms_in(window_start(int(NOW.timestamp()), WINDOW)) == 0


def test_a_dry_run_reads_the_count_but_does_not_add_to_it(dynamodb: Any, breaker: Breaker) -> None:
    for n in range(LIMIT):
        guard(dynamodb, breaker, alarm(n))
    with pytest.raises(BreakerOpen):
        guard(dynamodb, breaker, alarm(50, dry_run=True))

    assert breaker.store.alarms_in(window_start(int(NOW.timestamp()), WINDOW)) == LIMIT


def test_the_trip_notice_is_claimed_once_per_window_and_again_after_resume(dynamodb: Any, breaker: Breaker) -> None:
    window = window_start(int(NOW.timestamp()), WINDOW)
    breaker.store.count_alarm(window, window_seconds=WINDOW)
    at = int(NOW.timestamp())

    claims = [breaker.store.claim_trip_notice(window, now=at) for _ in range(3)]
    breaker.store.reset(window)
    after_resume_without_alarm = breaker.store.claim_trip_notice(window, now=at)
    breaker.store.count_alarm(window, window_seconds=WINDOW)
    after_resume = breaker.store.claim_trip_notice(window, now=at)

    assert claims == [True, False, False]
    assert (after_resume_without_alarm, after_resume) == (False, True)


def test_the_window_start_is_aligned() -> None:
    assert window_start(1_000_123, 600) == 999_600
    assert window_start(int((NOW + timedelta(seconds=1)).timestamp()), 600) % 600 == 0



def test_panic_button_resume_deletes_every_breaker_counter_and_nothing_else(dynamodb: Any, breaker: Breaker) -> None:
    from panic_button_cli.operations.resume import reset_breaker

    for n in range(LIMIT + 2):
        with contextlib.suppress(BreakerOpen):
            guard(dynamodb, breaker, alarm(n))
    breaker.store.count_alarm(window_start(int(NOW.timestamp()), WINDOW) - WINDOW, window_seconds=WINDOW)

    assert reset_breaker(dynamodb, TABLE_NAME) == 2
    guard(dynamodb, breaker, alarm(77))  # counted from zero again
    assert breaker.store.alarms_in(window_start(int(NOW.timestamp()), WINDOW)) == 1
    assert GuardStore(dynamodb, TABLE_NAME).read_instance("i-00000000").lock_owner is not None
