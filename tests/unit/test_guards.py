"""Step 3: per-instance lock and cooldown, fleet rate limit, and dry run, against a moto DynamoDB table."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from panic_button.dal.guard_store import GuardStore
from panic_button.errors import InCooldown, RateLimited
from panic_button.logic.guards import apply_guards
from panic_button.models.state import Guard, Target
from panic_button.outcomes import Outcome

from .support import INSTANCE, NOW, OTHER_INSTANCE, TABLE_NAME, scan_all, target_part

COOLDOWN = 6 * 3600
LOCK_SECONDS = 3 * 3600
RATE_LIMIT = 3


def target(instance_id: str = INSTANCE, *, dry_run: bool = False) -> Target:
    return Target.model_validate(target_part(instance_id, dry_run=dry_run))


def fleet(count: int) -> list[str]:
    return [f"i-{n:08x}" for n in range(1, count + 1)]


def guard(store: GuardStore, instance_id: str = INSTANCE, *, owner: str = "run-a", at: datetime = NOW,
          dry_run: bool = False, lock_seconds: int = LOCK_SECONDS, rate_limit: int = RATE_LIMIT) -> Guard:
    return apply_guards(store, target(instance_id, dry_run=dry_run), owner=owner, now=at, cooldown_seconds=COOLDOWN,
                        rate_limit=rate_limit, lock_seconds=lock_seconds)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


@pytest.fixture
def store(dynamodb: Any) -> GuardStore:
    return GuardStore(dynamodb, TABLE_NAME)


class TestLock:
    def test_the_first_trigger_takes_the_lock_and_a_rate_slot(self, store: GuardStore) -> None:
        taken = guard(store, owner="run-a")

        assert taken.dry_run is False
        assert taken.lock_owner == "run-a"
        assert taken.rate_slot in store.recent_interrupts(now=epoch(NOW))
        assert store.read_instance(INSTANCE).lock_owner == "run-a"

    def test_a_concurrent_trigger_is_told_a_remediation_is_in_flight(self, store: GuardStore) -> None:
        guard(store, owner="run-a")

        with pytest.raises(InCooldown, match="in flight") as caught:
            guard(store, owner="run-b", at=NOW + timedelta(seconds=5))

        assert "run-a" in str(caught.value)
        assert caught.value.outcome is Outcome.SKIPPED_COOLDOWN
        assert store.read_instance(INSTANCE).lock_owner == "run-a"
        assert len(store.recent_interrupts(now=epoch(NOW))) == 1

    def test_of_many_triggers_for_one_instance_exactly_one_wins(self, store: GuardStore) -> None:
        winners, dropped = [], 0
        for n in range(5):
            try:
                winners.append(guard(store, owner=f"run-{n}"))
            except InCooldown:
                dropped += 1

        assert [g.lock_owner for g in winners] == ["run-0"]
        assert dropped == 4

    def test_locks_of_different_instances_are_independent(self, store: GuardStore) -> None:
        guard(store, INSTANCE, owner="run-a")

        assert guard(store, OTHER_INSTANCE, owner="run-b").lock_owner == "run-b"

    def test_a_retried_guard_step_of_the_same_execution_keeps_its_lock(self, store: GuardStore) -> None:
        guard(store, owner="run-a")

        assert guard(store, owner="run-a", at=NOW + timedelta(seconds=3)).lock_owner == "run-a"

    def test_an_expired_lock_is_taken_over(self, store: GuardStore) -> None:
        guard(store, owner="crashed", lock_seconds=100)

        with pytest.raises(InCooldown, match="in flight"):
            guard(store, owner="early", at=NOW + timedelta(seconds=100))
        taken = guard(store, owner="late", at=NOW + timedelta(seconds=101))

        assert taken.lock_owner == "late"
        assert store.read_instance(INSTANCE).lock_owner == "late"

    def test_the_previous_owner_cannot_release_a_lock_taken_over(self, store: GuardStore) -> None:
        guard(store, owner="crashed", lock_seconds=100)
        guard(store, owner="late", at=NOW + timedelta(seconds=101))

        store.release_lock(INSTANCE, "crashed")

        assert store.read_instance(INSTANCE).lock_owner == "late"

    def test_a_released_lock_can_be_taken_again(self, store: GuardStore) -> None:
        guard(store, owner="run-a")
        store.release_lock(INSTANCE, "run-a")

        assert guard(store, owner="run-b", at=NOW + timedelta(seconds=1)).lock_owner == "run-b"


class TestCooldown:
    @pytest.fixture
    def interrupted(self, store: GuardStore) -> GuardStore:
        guard(store, owner="run-a")
        store.mark_interrupted(INSTANCE, at=epoch(NOW), expires_at=epoch(NOW) + COOLDOWN + 86400)
        store.release_lock(INSTANCE, "run-a")
        return store

    def test_a_trigger_during_the_cooldown_is_skipped_with_the_time_left(self, interrupted: GuardStore) -> None:
        with pytest.raises(InCooldown) as caught:
            guard(interrupted, owner="run-b", at=NOW + timedelta(seconds=600))

        assert "600s ago" in str(caught.value)
        assert f"cooldown ends in {COOLDOWN - 600}s" in str(caught.value)
        assert interrupted.read_instance(INSTANCE).lock_owner is None

    def test_a_trigger_after_the_cooldown_proceeds(self, interrupted: GuardStore) -> None:
        later = NOW + timedelta(seconds=COOLDOWN + 1)

        assert guard(interrupted, owner="run-b", at=later, rate_limit=10).lock_owner == "run-b"

    def test_the_cooldown_applies_to_a_dry_run_too(self, interrupted: GuardStore) -> None:
        with pytest.raises(InCooldown, match="cooldown ends"):
            guard(interrupted, owner="run-b", at=NOW + timedelta(seconds=60), dry_run=True)


class TestRateLimit:
    def test_the_limit_admits_n_and_refuses_the_next(self, store: GuardStore) -> None:
        *admitted, refused = fleet(RATE_LIMIT + 1)
        for n, instance_id in enumerate(admitted):
            guard(store, instance_id, owner=f"run-{n}")

        with pytest.raises(RateLimited, match=f"limit {RATE_LIMIT}") as caught:
            guard(store, refused, owner="run-over")

        assert caught.value.outcome is Outcome.SKIPPED_RATE_LIMITED
        assert len(store.recent_interrupts(now=epoch(NOW))) == RATE_LIMIT

    def test_a_rate_limited_instance_is_not_left_locked(self, store: GuardStore) -> None:
        *admitted, refused = fleet(RATE_LIMIT + 1)
        for n, instance_id in enumerate(admitted):
            guard(store, instance_id, owner=f"run-{n}")
        with pytest.raises(RateLimited):
            guard(store, refused, owner="run-over")

        assert store.read_instance(refused).lock_owner is None
        assert guard(store, refused, owner="run-later", at=NOW + timedelta(hours=1)).lock_owner == "run-later"

    def test_slots_older_than_an_hour_do_not_count(self, store: GuardStore) -> None:
        *admitted, newcomer = fleet(RATE_LIMIT + 1)
        for n, instance_id in enumerate(admitted):
            guard(store, instance_id, owner=f"run-{n}")

        with pytest.raises(RateLimited):
            guard(store, newcomer, owner="too-early", at=NOW + timedelta(seconds=3599))
        assert guard(store, newcomer, owner="in-time", at=NOW + timedelta(seconds=3600)).lock_owner == "in-time"
        assert store.recent_interrupts(now=epoch(NOW) + 3600) == [f"{epoch(NOW) + 3600}|{newcomer}|in-time"]

    def test_a_released_slot_frees_room_for_another_instance(self, store: GuardStore) -> None:
        *admitted, newcomer = fleet(RATE_LIMIT + 1)
        slots = [guard(store, instance_id, owner=f"run-{n}").rate_slot for n, instance_id in enumerate(admitted)]

        store.release_interrupt_slot(str(slots[0]), now=epoch(NOW))

        assert slots[0] not in store.recent_interrupts(now=epoch(NOW))
        assert guard(store, newcomer, owner="run-new").lock_owner == "run-new"

    def test_releasing_a_slot_that_is_gone_changes_nothing(self, store: GuardStore) -> None:
        kept = guard(store, owner="run-a").rate_slot

        store.release_interrupt_slot(f"{epoch(NOW)}|{OTHER_INSTANCE}|never-reserved", now=epoch(NOW))

        assert store.recent_interrupts(now=epoch(NOW)) == [kept]

    def test_a_full_window_refuses_a_dry_run_too(self, store: GuardStore) -> None:
        *admitted, newcomer = fleet(RATE_LIMIT + 1)
        for n, instance_id in enumerate(admitted):
            guard(store, instance_id, owner=f"run-{n}")

        with pytest.raises(RateLimited):
            guard(store, newcomer, owner="dry", dry_run=True)


class TestDryRun:
    def test_a_dry_run_writes_nothing(self, store: GuardStore, dynamodb: Any) -> None:
        before = scan_all(dynamodb)

        result = guard(store, owner="dry", dry_run=True)

        assert result == Guard(dry_run=True)
        assert scan_all(dynamodb) == before == []

    def test_a_dry_run_leaves_existing_guard_items_untouched(self, store: GuardStore, dynamodb: Any) -> None:
        guard(store, OTHER_INSTANCE, owner="run-a")
        before = scan_all(dynamodb)

        guard(store, INSTANCE, owner="dry", dry_run=True)

        assert scan_all(dynamodb) == before

    def test_a_dry_run_sees_a_remediation_in_flight(self, store: GuardStore) -> None:
        guard(store, owner="run-a")

        with pytest.raises(InCooldown, match="in flight"):
            guard(store, owner="dry", dry_run=True)
