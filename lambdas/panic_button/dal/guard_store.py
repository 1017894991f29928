"""DynamoDB access for the safety guards: per-instance lock and cooldown, fleet rate-limit window.
Every write is conditional, so two executions racing for one instance cannot both win."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from panic_button.aws import error_code
from panic_button.dal.table_keys import fleet_key, instance_key
from panic_button.models.state import Target

WINDOW_SECONDS = 3600
_TTL_MARGIN_SECONDS = 86400
_OPTIMISTIC_ATTEMPTS = 8


@dataclass(frozen=True)
class InstanceGuardState:
    lock_owner: str | None
    lock_expires_at: int
    last_interrupt_at: int | None


class LockRefused(Exception):
    """The conditional write lost; `state` says why (lock held or cooldown)."""

    def __init__(self, state: InstanceGuardState) -> None:
        super().__init__("lock refused")
        self.state = state


class GuardStore:
    def __init__(self, dynamodb: Any, table_name: str, *, organization_wide: bool = False,
                 where: tuple[str, str] | None = None) -> None:
        self._db = dynamodb
        self._table = table_name
        self._organization_wide = organization_wide
        self._where = where
        self._fleet_key = fleet_key(None if organization_wide else where)

    def for_target(self, target: Target | None) -> GuardStore:
        """This store for the target: a member's instance (organization hub) has its own lock and cooldown item
        and, unless the limits are organization-wide, its account and Region's own rate-limit window."""
        where = (target.account, target.region) if target and target.account and target.region else None
        return GuardStore(self._db, self._table, organization_wide=self._organization_wide, where=where)

    def read_instance(self, instance_id: str) -> InstanceGuardState:
        return _guard_state(self._read_item(instance_id))

    def take_lock(self, instance_id: str, owner: str, *, now: int, lock_seconds: int,
                  cooldown_seconds: int) -> None:
        try:
            self._db.update_item(
                TableName=self._table,
                Key=_typed(instance_key(instance_id, self._where)),
                # expires_at (the item's TTL) must outlive the lock, or DynamoDB could delete a held lock.
                UpdateExpression=("SET lock_owner = :owner, lock_expires_at = :expires, instance_id = :id, "
                                  "expires_at = :ttl"),
                # Our own lock counts as free: a retried guard step must not lock its own execution out.
                ConditionExpression=(
                    "(attribute_not_exists(lock_owner) OR lock_expires_at < :now OR lock_owner = :owner)"
                    " AND (attribute_not_exists(last_interrupt_at) OR last_interrupt_at < :cutoff)"
                ),
                ExpressionAttributeValues={
                    ":owner": {"S": owner},
                    ":expires": {"N": str(now + lock_seconds)},
                    ":ttl": {"N": str(now + lock_seconds + cooldown_seconds + _TTL_MARGIN_SECONDS)},
                    ":now": {"N": str(now)},
                    ":cutoff": {"N": str(now - cooldown_seconds)},
                    ":id": {"S": instance_id},
                },
            )
        except Exception as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise LockRefused(self.read_instance(instance_id)) from None
            raise

    def release_lock(self, instance_id: str, owner: str) -> None:
        """Release only our own lock; a lock taken over after expiry belongs to someone else."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=_typed(instance_key(instance_id, self._where)),
                UpdateExpression="REMOVE lock_owner, lock_expires_at",
                ConditionExpression="lock_owner = :owner",
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except Exception as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise

    def mark_interrupted(self, instance_id: str, *, at: int, expires_at: int) -> None:
        self._db.update_item(
            TableName=self._table,
            Key=_typed(instance_key(instance_id, self._where)),
            UpdateExpression="SET last_interrupt_at = :at, expires_at = :ttl, instance_id = :id",
            ExpressionAttributeValues={":at": {"N": str(at)}, ":ttl": {"N": str(expires_at)},
                                       ":id": {"S": instance_id}},
        )

    def claim_interrupt(self, instance_id: str, owner: str, *, attempt: str, at: int) -> int | None:
        """Claim the interrupt for `owner`'s `attempt` before it is sent. None: claimed (again, by the same
        attempt's SDK retry too); else the time an earlier attempt of `owner` claimed it at."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=_typed(instance_key(instance_id, self._where)),
                UpdateExpression="SET interrupt_owner = :owner, interrupt_attempt = :attempt, "
                                 "interrupt_claimed_at = :at REMOVE interrupt_confirmed",
                ConditionExpression="attribute_not_exists(interrupt_owner) OR interrupt_owner <> :owner "
                                    "OR interrupt_attempt = :attempt",
                ExpressionAttributeValues={":owner": {"S": owner}, ":attempt": {"S": attempt}, ":at": {"N": str(at)}},
            )
        except Exception as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            item = self._read_item(instance_id)
            return int(item["interrupt_claimed_at"]["N"])
        return None

    def confirm_interrupt(self, instance_id: str, *, attempt: str) -> None:
        """EC2 accepted the interrupt of this attempt."""
        self._db.update_item(
            TableName=self._table, Key=_typed(instance_key(instance_id, self._where)),
            UpdateExpression="SET interrupt_confirmed = :yes",
            ConditionExpression="interrupt_attempt = :attempt",
            ExpressionAttributeValues={":yes": {"BOOL": True}, ":attempt": {"S": attempt}},
        )

    def interrupt_confirmed(self, instance_id: str, owner: str) -> bool:
        item = self._read_item(instance_id)
        return (item.get("interrupt_owner", {}).get("S") == owner
                and bool(item.get("interrupt_confirmed", {}).get("BOOL")))

    def release_interrupt_claim(self, instance_id: str, *, attempt: str) -> None:
        """EC2 refused this attempt's interrupt: the claim goes, so a retry of the step may send it."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=_typed(instance_key(instance_id, self._where)),
                UpdateExpression="REMOVE interrupt_owner, interrupt_attempt, interrupt_claimed_at, "
                                 "interrupt_confirmed",
                ConditionExpression="interrupt_attempt = :attempt",
                ExpressionAttributeValues={":attempt": {"S": attempt}},
            )
        except Exception as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise

    def _read_item(self, instance_id: str) -> dict[str, Any]:
        key = _typed(instance_key(instance_id, self._where))
        item: dict[str, Any] = self._db.get_item(TableName=self._table, Key=key,
                                                 ConsistentRead=True).get("Item", {})
        return item

    def recent_interrupts(self, *, now: int) -> list[str]:
        _, slots = self._read_window(now)
        return slots

    def reserve_interrupt_slot(self, slot: str, *, now: int, limit: int) -> list[str] | None:
        """Add `slot` to the rolling one-hour window unless it is full. Returns the window before the
        reservation, or None when it was full. Optimistic concurrency on a version attribute."""
        for _ in range(_OPTIMISTIC_ATTEMPTS):
            version, slots = self._read_window(now)
            if any(slot_owner(s) == slot_owner(slot) for s in slots):
                return [s for s in slots if slot_owner(s) != slot_owner(slot)]  # a retried step: already ours
            if len(slots) >= limit:
                return None
            try:
                self._write_window(version, [*slots, slot])
                return slots
            except Exception as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
        raise RuntimeError("rate-limit window is contended; retry the execution")

    def release_interrupt_slot(self, slot: str, *, now: int) -> None:
        for _ in range(_OPTIMISTIC_ATTEMPTS):
            version, slots = self._read_window(now)
            if slot not in slots:
                return
            try:
                self._write_window(version, [s for s in slots if s != slot])
                return
            except Exception as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise

    def release_slots_of(self, owner: str, *, now: int) -> None:
        """Give back every slot `owner` holds: for a run whose guard step ended without reporting its slot."""
        _, slots = self._read_window(now)
        for slot in slots:
            if slot_owner(slot) == owner:
                self.release_interrupt_slot(slot, now=now)

    def _read_window(self, now: int) -> tuple[int, list[str]]:
        item = self._db.get_item(TableName=self._table, Key=_typed(self._fleet_key), ConsistentRead=True).get("Item")
        if not item:
            return 0, []
        version = int(item["version"]["N"])
        slots = [s["S"] for s in item.get("slots", {}).get("L", [])]
        return version, [s for s in slots if slot_time(s) > now - WINDOW_SECONDS]

    def _write_window(self, version: int, slots: list[str]) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={**_typed(self._fleet_key), "version": {"N": str(version + 1)},
                  "slots": {"L": [{"S": s} for s in slots]}},
            ConditionExpression="attribute_not_exists(version) OR version = :v",
            ExpressionAttributeValues={":v": {"N": str(version)}},
        )


def make_slot(at: int, instance_id: str, owner: str) -> str:
    return f"{at}|{instance_id}|{owner}"


def slot_owner(slot: str) -> str:
    return slot.split("|", 2)[-1]


def slot_time(slot: str) -> int:
    return int(slot.split("|", 1)[0])


def _typed(key: dict[str, str]) -> dict[str, dict[str, str]]:
    return {name: {"S": value} for name, value in key.items()}


def _guard_state(item: dict[str, Any]) -> InstanceGuardState:
    return InstanceGuardState(
        lock_owner=item["lock_owner"]["S"] if "lock_owner" in item else None,
        lock_expires_at=int(item["lock_expires_at"]["N"]) if "lock_expires_at" in item else 0,
        last_interrupt_at=int(item["last_interrupt_at"]["N"]) if "last_interrupt_at" in item else None,
    )
