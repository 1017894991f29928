"""Step 3: the safety guards. One interrupt per instance at a time, a cooldown after each, and a fleet
rate limit, so a flapping alarm or a Region-wide event cannot turn into a crash storm."""

from __future__ import annotations

from datetime import datetime

from panic_button.dal.guard_store import GuardStore, InstanceGuardState, LockRefused, make_slot
from panic_button.errors import InCooldown, RateLimited
from panic_button.models.state import Guard, Target


def apply_guards(store: GuardStore, target: Target, *, owner: str, now: datetime, cooldown_seconds: int,
                 rate_limit: int, lock_seconds: int) -> Guard:
    at = int(now.timestamp())
    instance_id = target.instance_id
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
    return Guard(dry_run=False, lock_owner=owner, rate_slot=slot)


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
