"""DynamoDB access for the collector commands the workflow waits on: the waiting Task's token, keyed by
command ID, and whether the command has ended. Both sides write conditionally, so a command that ends
before its token is stored is never waited on in vain (logic/command_wait.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from panic_button.aws import error_code
from panic_button.dal.table_keys import command_wait_key
from panic_button.models.state import CommandRef


@dataclass(frozen=True)
class CommandWaiter:
    """The Task waiting for a command: the token to complete it with, and what it polls."""

    task_token: str
    instance_id: str
    ref: CommandRef


class CommandWaitStore:
    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self._db = dynamodb
        self._table = table_name

    def wait(self, ref: CommandRef, *, instance_id: str, task_token: str, expires_at: int) -> bool:
        """Store the token (a later wait for the same command replaces it). False: the command had already
        ended, so no event will come for this token."""
        try:
            self._db.update_item(
                TableName=self._table, Key=_typed(command_wait_key(ref.command_id)),
                UpdateExpression="SET task_token = :token, instance_id = :instance, command_ref = :ref, "
                                 "expires_at = :ttl",
                ConditionExpression="attribute_not_exists(ended_status)",
                ExpressionAttributeValues={":token": {"S": task_token}, ":instance": {"S": instance_id},
                                           ":ref": {"S": ref.model_dump_json()}, ":ttl": {"N": str(expires_at)}},
            )
        except Exception as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def ended(self, command_id: str, status: str, *, expires_at: int) -> CommandWaiter | None:
        """Mark the command ended. The waiter stored before, if any; None for a command nobody waits on yet
        and for a repeated event (EventBridge delivers at least once)."""
        old = self._db.update_item(
            TableName=self._table, Key=_typed(command_wait_key(command_id)),
            UpdateExpression="SET ended_status = if_not_exists(ended_status, :status), expires_at = :ttl",
            ExpressionAttributeValues={":status": {"S": status}, ":ttl": {"N": str(expires_at)}},
            ReturnValues="ALL_OLD",
        ).get("Attributes", {})
        if "ended_status" in old or "task_token" not in old:
            return None
        return CommandWaiter(task_token=old["task_token"]["S"], instance_id=old["instance_id"]["S"],
                             ref=CommandRef.model_validate_json(old["command_ref"]["S"]))


def _typed(key: dict[str, str]) -> dict[str, dict[str, str]]:
    return {name: {"S": value} for name, value in key.items()}
