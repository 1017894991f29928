"""An alarm-started run has a UUID name: while it runs, the instance's lock is what names it."""

from __future__ import annotations

from panic_button_cli.operations.records import in_flight_execution

from .conftest import Deployed

INSTANCE = "i-0123456789abcdef0"
NOW = 1_800_000_000


def lock(deployed: Deployed, owner: str, expires_at: int) -> None:
    deployed.client("dynamodb").put_item(TableName=deployed.table_name, Item={
        "pk": {"S": f"INSTANCE#{INSTANCE}"}, "sk": {"S": "STATE"}, "lock_owner": {"S": owner},
        "lock_expires_at": {"N": str(expires_at)}})


def test_the_lock_owner_is_the_running_execution(deployed: Deployed) -> None:
    lock(deployed, "6a7e8feb-b491-4cf7-a9f1-bf3703467718", NOW + 600)
    found = in_flight_execution(deployed.client("dynamodb"), deployed.table_name, deployed.state_machine_arn,
                                INSTANCE, NOW)
    assert found == (deployed.state_machine_arn.replace(":stateMachine:", ":execution:")
                     + ":6a7e8feb-b491-4cf7-a9f1-bf3703467718")


def test_an_expired_lock_or_none_names_nothing(deployed: Deployed) -> None:
    dynamodb = deployed.client("dynamodb")
    assert in_flight_execution(dynamodb, deployed.table_name, deployed.state_machine_arn, INSTANCE, NOW) is None
    lock(deployed, "old-run", NOW - 1)
    assert in_flight_execution(dynamodb, deployed.table_name, deployed.state_machine_arn, INSTANCE, NOW) is None
