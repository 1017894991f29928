"""DynamoDB access for the storm summary: one item per storm window that collects its rate-limited skips
(one set entry per execution), closed once by the summariser so that every skip is in exactly one summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from panic_button.aws import error_code
from panic_button.dal.table_keys import STORM_PREFIX, storm_key

# Outlives a summariser that is broken for days: an unsummarised window must not expire unseen.
_TTL_SECONDS = 14 * 86400
# Entries are `kind|instance|execution`, about 70 bytes: 4000 keep the item far below DynamoDB's 400 KB.
MAX_ENTRIES = 4000


@dataclass(frozen=True)
class Skip:
    instance_id: str
    execution_name: str
    by_breaker: bool

    def entry(self) -> str:
        return f"{'breaker' if self.by_breaker else 'rate'}|{self.instance_id}|{self.execution_name}"


@dataclass(frozen=True)
class StormWindow:
    start: int
    skips: list[Skip]
    closed: bool
    claimed: bool  # the summary's one right to publish is taken (its message ID follows when SNS answered)

    @property
    def rate_limited(self) -> list[str]:
        return sorted(s.instance_id for s in self.skips if not s.by_breaker)

    @property
    def breaker(self) -> list[str]:
        return sorted(s.instance_id for s in self.skips if s.by_breaker)


class StormStore:
    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self._db = dynamodb
        self._table = table_name

    def try_add(self, window: int, skip: Skip) -> bool:
        """Add the skip to an open window with room; False when the window is closed or full."""
        try:
            self._db.update_item(
                TableName=self._table, Key=_typed(storm_key(window)),
                UpdateExpression="ADD skips :entry, entries :one SET expires_at = if_not_exists(expires_at, :ttl)",
                ConditionExpression="attribute_not_exists(closed_at) AND "
                                    "(attribute_not_exists(entries) OR entries < :cap)",
                ExpressionAttributeValues={":entry": {"SS": [skip.entry()]}, ":one": {"N": "1"},
                                           ":cap": {"N": str(MAX_ENTRIES)},
                                           ":ttl": {"N": str(window + _TTL_SECONDS)}},
            )
        except Exception as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def read(self, window: int) -> StormWindow | None:
        item = self._db.get_item(TableName=self._table, Key=_typed(storm_key(window)),
                                 ConsistentRead=True).get("Item")
        return None if item is None else _window(item)

    def open_windows(self) -> list[int]:
        """Starts of the windows whose summary is not claimed yet, oldest first."""
        query: dict[str, Any] = {
            "TableName": self._table, "ConsistentRead": True, "ProjectionExpression": "sk",
            "KeyConditionExpression": "pk = :fleet AND begins_with(sk, :storm)",
            "FilterExpression": "attribute_not_exists(summary_claimed_at)",
            "ExpressionAttributeValues": {":fleet": {"S": "FLEET"}, ":storm": {"S": STORM_PREFIX}},
        }
        starts: list[int] = []
        while True:
            page = self._db.query(**query)
            starts += [int(item["sk"]["S"].removeprefix(STORM_PREFIX)) for item in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return sorted(starts)
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def close(self, window: int, *, now: int) -> None:
        """No skip joins the window from now on (a later one goes to a later window); repeating is harmless."""
        self._db.update_item(TableName=self._table, Key=_typed(storm_key(window)),
                             UpdateExpression="SET closed_at = if_not_exists(closed_at, :now)",
                             ConditionExpression="attribute_exists(pk)",
                             ExpressionAttributeValues={":now": {"N": str(now)}})

    def claim_summary(self, window: int, *, now: int) -> bool:
        try:
            self._db.update_item(TableName=self._table, Key=_typed(storm_key(window)),
                                 UpdateExpression="SET summary_claimed_at = :now",
                                 ConditionExpression="attribute_exists(closed_at) AND "
                                                     "attribute_not_exists(summary_claimed_at)",
                                 ExpressionAttributeValues={":now": {"N": str(now)}})
        except Exception as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_summary(self, window: int) -> None:
        """SNS refused the summary: the next run sends it."""
        self._db.update_item(TableName=self._table, Key=_typed(storm_key(window)),
                             UpdateExpression="REMOVE summary_claimed_at")

    def mark_summarised(self, window: int, message_id: str) -> None:
        self._db.update_item(TableName=self._table, Key=_typed(storm_key(window)),
                             UpdateExpression="SET summary_message_id = :id",
                             ExpressionAttributeValues={":id": {"S": message_id}})


def _window(item: dict[str, Any]) -> StormWindow:
    skips = []
    for entry in item.get("skips", {}).get("SS", []):
        kind, instance_id, execution_name = entry.split("|", 2)
        skips.append(Skip(instance_id=instance_id, execution_name=execution_name, by_breaker=kind == "breaker"))
    return StormWindow(start=int(item["sk"]["S"].removeprefix(STORM_PREFIX)), skips=skips,
                       closed="closed_at" in item, claimed="summary_claimed_at" in item)


def _typed(key: dict[str, str]) -> dict[str, dict[str, str]]:
    return {name: {"S": value} for name, value in key.items()}
