"""The fleet's rate window and circuit breaker, emptied between the tests that share one deployed sandbox:
a test is never rate-limited or breaker-skipped for the runs of the tests before it."""

from __future__ import annotations

from typing import Any

from panic_button.dal.table_keys import FLEET_KEY

from panic_button_cli.operations.resume import reset_breaker

FLEET_WINDOW = {name: {"S": value} for name, value in FLEET_KEY.items()}


def clear_fleet_limits(dynamodb: Any, table: str) -> None:
    dynamodb.delete_item(TableName=table, Key=FLEET_WINDOW)
    reset_breaker(dynamodb, table)
