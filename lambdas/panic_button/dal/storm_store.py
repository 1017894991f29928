"""DynamoDB access for the storm summary: one item per storm window that collects every rate-limited skip
(one set entry per execution, so a retried record step adds nothing) for the window's one summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from panic_button.dal.table_keys import storm_key

_TTL_MARGIN_SECONDS = 86400


@dataclass(frozen=True)
class StormSkips:
    rate_limited: list[str]  # instance IDs skipped by the fleet rate limit
    breaker: list[str]  # instance IDs skipped by the tripped circuit breaker


class StormStore:
    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self._db = dynamodb
        self._table = table_name

    def add_skip(self, window: int, *, execution_name: str, instance_id: str, by_breaker: bool,
                 window_seconds: int) -> bool:
        """Add the skip to the window; True for the execution that opened the window (the first skip,
        and the same execution again when its record step is retried): it owes the window's summary."""
        entry = f"{'breaker' if by_breaker else 'rate'}|{instance_id}|{execution_name}"
        response = self._db.update_item(
            TableName=self._table,
            Key=_typed(storm_key(window)),
            UpdateExpression=("ADD skips :entry SET opened_by = if_not_exists(opened_by, :me), "
                              "expires_at = if_not_exists(expires_at, :ttl)"),
            ExpressionAttributeValues={":entry": {"SS": [entry]}, ":me": {"S": execution_name},
                                       ":ttl": {"N": str(window + window_seconds + _TTL_MARGIN_SECONDS)}},
            # ALL_NEW: an if_not_exists that changed nothing is not "updated", so UPDATED_NEW may omit it.
            ReturnValues="ALL_NEW",
        )
        return bool(response["Attributes"]["opened_by"]["S"] == execution_name)

    def skips(self, window: int) -> StormSkips:
        item = self._db.get_item(TableName=self._table, Key=_typed(storm_key(window)),
                                 ConsistentRead=True).get("Item", {})
        entries = [entry.split("|") for entry in item.get("skips", {}).get("SS", [])]
        return StormSkips(rate_limited=sorted(e[1] for e in entries if e[0] == "rate"),
                          breaker=sorted(e[1] for e in entries if e[0] == "breaker"))


def _typed(key: dict[str, str]) -> dict[str, dict[str, str]]:
    return {name: {"S": value} for name, value in key.items()}
