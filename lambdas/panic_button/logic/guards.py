"""Step 3: the safety guards. One interrupt per instance at a time, a cooldown after each, and a fleet
rate limit, so a flapping alarm or a Region-wide event cannot turn into a crash storm."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from panic_button.clock import iso
from panic_button.dal.breaker_store import BreakerStore, window_start
from panic_button.dal.guard_store import GuardStore, InstanceGuardState, LockRefused, make_slot
from panic_button.dal.record_store import RecordStore
from panic_button.errors import BreakerOpen, ExecutionAlreadyRecorded, InCooldown, RateLimited
from panic_button.models.state import Guard, Target


@dataclass(frozen=True)
class Breaker:
    store: BreakerStore
    alarms: int
    window_seconds: int


def apply_guards(store: GuardStore, target: Target, *, owner: str, now: datetime, cooldown_seconds: int,
                 rate_limit: int, lock_seconds: int, breaker: Breaker | None = None,
                 records: RecordStore | None = None) -> Guard:
    at = int(now.timestamp())
    instance_id = target.instance_id
    if breaker is not None:  # the handler always passes one; None tests the other guards alone
        _check_breaker(breaker, target)
    if target.dry_run:
        # Dry-run runs every check but writes nothing: no lock, no cooldown, no rate-limit slot.
        _explain_refusal(instance_id, store.read_instance(instance_id), now=at, cooldown_seconds=cooldown_seconds,
                         owner=owner)
        recent = store.recent_interrupts(now=at)
        if len(recent) >= rate_limit:
            raise RateLimited(_rate_message(len(recent), rate_limit))
        return Guard(dry_run=True)
    try:
        store.take_lock(instance_id, owner, now=at, lock_seconds=lock_seconds, cooldown_seconds=cooldown_seconds)
    except LockRefused as refused:
        _explain_refusal(instance_id, refused.state, now=at, cooldown_seconds=cooldown_seconds, owner=owner)
        raise InCooldown(f"{instance_id} is locked by another remediation") from None
    slot = make_slot(at, instance_id, owner)
    window = store.reserve_interrupt_slot(slot, now=at, limit=rate_limit)
    if window is None:
        store.release_lock(instance_id, owner)
        raise RateLimited(_rate_message(rate_limit, rate_limit))
    if records is not None and records.exists(instance_id, target.requested_at, owner):
        # This step outlived its execution (stopped, timed out) and the aborted-run recorder has already
        # recorded it. The recorder writes its record before it releases, so a lock or slot taken after its
        # release shows up here: give them back, or they would hold the instance and the window for nothing.
        store.release_interrupt_slot(slot, now=at)
        store.release_lock(instance_id, owner)
        raise ExecutionAlreadyRecorded(f"{owner} was recorded while its guard step ran: the lock and slot are "
                                       "given back")
    return Guard(dry_run=False, lock_owner=owner, rate_slot=slot)


def _check_breaker(breaker: Breaker, target: Target) -> None:
    """Only alarms count, by the time the alarm fired: an operator's manual run is a deliberate choice,
    and every execution of one storm lands in the same window however long the queue behind it is."""
    if target.trigger != "alarm":
        return
    window = window_start(int(target.requested_at.timestamp()), breaker.window_seconds)
    # A dry run writes nothing: it only reads the count.
    count = (breaker.store.alarms_in(window) + 1 if target.dry_run
             else breaker.store.count_alarm(window, window_seconds=breaker.window_seconds))
    if count > breaker.alarms:
        ends = datetime.fromtimestamp(window + breaker.window_seconds, tz=UTC)
        raise BreakerOpen(
            f"fleet circuit breaker tripped: {count} alarms in the {breaker.window_seconds // 60}-minute window "
            f"from {iso(datetime.fromtimestamp(window, tz=UTC))} (limit {breaker.alarms}); "
            f"interrupts resume at {iso(ends)} or after `panic-button resume`"
        )


def _explain_refusal(instance_id: str, state: InstanceGuardState, *, now: int, cooldown_seconds: int,
                     owner: str) -> None:
    if state.lock_owner and state.lock_owner != owner and state.lock_expires_at >= now:
        raise InCooldown(
            f"another remediation of {instance_id} is in flight ({state.lock_owner}); this trigger is dropped"
        )
    if state.last_interrupt_at is not None and state.last_interrupt_at >= now - cooldown_seconds:
        remaining = state.last_interrupt_at + cooldown_seconds - now
        raise InCooldown(
            f"{instance_id} was interrupted {now - state.last_interrupt_at}s ago; cooldown ends in {remaining}s"
        )


def _rate_message(count: int, limit: int) -> str:
    return f"fleet rate limit reached: {count} interrupts in the last hour (limit {limit})"
