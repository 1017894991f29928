"""DynamoDB access for the fleet circuit breaker: one atomic alarm counter per fixed window, and the
one-time claim of the "breaker tripped" notice. `panic-button resume` deletes the window's item."""

from __future__ import annotations

from typing import Any

from panic_button.aws import error_code
from panic_button.dal.table_keys import breaker_key

_TTL_MARGIN_SECONDS = 86400


def window_start(at: int, window_seconds: int) -> int:
    """Fixed windows aligned on the epoch: every Lambda agrees on the window without coordination."""
    return at - at % window_seconds


class BreakerStore:
    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self._db = dynamodb
        self._table = table_name

    def count_alarm(self, window: int, *, window_seconds: int) -> int:
        """Add one alarm to the window and return the window's count, this one included.

        ADD is atomic, so 500 racing executions count 500 with no optimistic retry loop (the rate-limit
        window's read-modify-write would contend). A retried ApplyGuards may count its alarm twice: that
        errs towards tripping, the safe side."""
        response = self._db.update_item(
            TableName=self._table,
            Key=_typed(breaker_key(window)),
            UpdateExpression="ADD alarms :one SET expires_at = if_not_exists(expires_at, :ttl)",
            ExpressionAttributeValues={":one": {"N": "1"},
                                       ":ttl": {"N": str(window + window_seconds + _TTL_MARGIN_SECONDS)}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["alarms"]["N"])

    def alarms_in(self, window: int) -> int:
        item = self._db.get_item(TableName=self._table, Key=_typed(breaker_key(window)),
                                 ConsistentRead=True).get("Item", {})
        return int(item["alarms"]["N"]) if "alarms" in item else 0

    def claim_trip_notice(self, window: int, *, now: int) -> bool:
        """The one right to say that this window's breaker tripped. Only an existing counter can be
        claimed, so a claim never outlives `panic-button resume` (which deletes the item)."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=_typed(breaker_key(window)),
                UpdateExpression="SET trip_notified_at = :now",
                ConditionExpression="attribute_exists(alarms) AND attribute_not_exists(trip_notified_at)",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except Exception as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_trip_notice(self, window: int) -> None:
        """SNS refused the notice: let a retry send it."""
        self._db.update_item(TableName=self._table, Key=_typed(breaker_key(window)),
                             UpdateExpression="REMOVE trip_notified_at")

    def reset(self, window: int) -> None:
        """`panic-button resume`: the count starts again from zero, and a new trip notifies again."""
        self._db.delete_item(TableName=self._table, Key=_typed(breaker_key(window)))


def _typed(key: dict[str, str]) -> dict[str, dict[str, str]]:
    return {name: {"S": value} for name, value in key.items()}
