"""The guard store's answers to DynamoDB outcomes moto cannot produce on demand (contention, throttling)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber
from panic_button.dal.guard_store import GuardStore, LockRefused

from .support import INSTANCE, TABLE_NAME, aws_client, client_error

NOW = 1_800_000_000


def window_item(version: int, slots: list[str]) -> dict[str, Any]:
    return {"Item": {"pk": {"S": "FLEET"}, "sk": {"S": "INTERRUPT_WINDOW"}, "version": {"N": str(version)},
                     "slots": {"L": [{"S": s} for s in slots]}}}


@pytest.fixture
def stubbed() -> Any:
    client = aws_client("dynamodb")
    with Stubber(client) as stubber:
        yield GuardStore(client, TABLE_NAME), stubber
        stubber.assert_no_pending_responses()


def test_a_contended_window_is_retried_until_the_write_wins(stubbed: Any) -> None:
    store, stubber = stubbed
    rival = f"{NOW - 5}|i-00000001|rival"
    stubber.add_response("get_item", window_item(1, []))
    client_error(stubber, "put_item", "ConditionalCheckFailedException")
    stubber.add_response("get_item", window_item(2, [rival]))
    stubber.add_response("put_item", {}, {
        "TableName": TABLE_NAME, "Item": ANY, "ConditionExpression": ANY,
        "ExpressionAttributeValues": {":v": {"N": "2"}},
    })

    before = store.reserve_interrupt_slot(f"{NOW}|{INSTANCE}|run-a", now=NOW, limit=5)

    assert before == [rival]


def test_a_window_that_stays_contended_fails_loudly(stubbed: Any) -> None:
    store, stubber = stubbed
    for version in range(8):
        stubber.add_response("get_item", window_item(version, []))
        client_error(stubber, "put_item", "ConditionalCheckFailedException")

    with pytest.raises(RuntimeError, match="contended"):
        store.reserve_interrupt_slot(f"{NOW}|{INSTANCE}|run-a", now=NOW, limit=5)


def test_a_full_window_is_not_written(stubbed: Any) -> None:
    store, stubber = stubbed
    stubber.add_response("get_item", window_item(3, [f"{NOW - 10}|i-00000001|a", f"{NOW - 20}|i-00000002|b"]))

    assert store.reserve_interrupt_slot(f"{NOW}|{INSTANCE}|run-a", now=NOW, limit=2) is None


def test_writing_the_window_drops_slots_older_than_an_hour(stubbed: Any) -> None:
    store, stubber = stubbed
    old, recent, new = f"{NOW - 3600}|i-00000001|old", f"{NOW - 3599}|i-00000002|recent", f"{NOW}|{INSTANCE}|new"
    stubber.add_response("get_item", window_item(7, [old, recent]))
    stubber.add_response("put_item", {}, {
        "TableName": TABLE_NAME, "ConditionExpression": ANY, "ExpressionAttributeValues": ANY,
        "Item": {"pk": {"S": "FLEET"}, "sk": {"S": "INTERRUPT_WINDOW"}, "version": {"N": "8"},
                 "slots": {"L": [{"S": recent}, {"S": new}]}},
    })

    assert store.reserve_interrupt_slot(new, now=NOW, limit=2) == [recent]


def test_a_refused_lock_reports_who_holds_it(stubbed: Any) -> None:
    store, stubber = stubbed
    client_error(stubber, "update_item", "ConditionalCheckFailedException")
    stubber.add_response("get_item", {"Item": {
        "pk": {"S": f"INSTANCE#{INSTANCE}"}, "sk": {"S": "STATE"}, "lock_owner": {"S": "run-a"},
        "lock_expires_at": {"N": str(NOW + 60)}, "last_interrupt_at": {"N": str(NOW - 30)},
    }})

    with pytest.raises(LockRefused) as caught:
        store.take_lock(INSTANCE, "run-b", now=NOW, lock_seconds=600, cooldown_seconds=0)

    assert caught.value.state.lock_owner == "run-a"
    assert caught.value.state.lock_expires_at == NOW + 60
    assert caught.value.state.last_interrupt_at == NOW - 30


@pytest.mark.parametrize("method", ["take_lock", "release_lock"])
def test_throttling_is_not_mistaken_for_a_lost_condition(stubbed: Any, method: str) -> None:
    store, stubber = stubbed
    client_error(stubber, "update_item", "ProvisionedThroughputExceededException")

    with pytest.raises(ClientError, match="ProvisionedThroughputExceeded"):
        if method == "take_lock":
            store.take_lock(INSTANCE, "run-a", now=NOW, lock_seconds=600, cooldown_seconds=0)
        else:
            store.release_lock(INSTANCE, "run-a")


def test_a_retried_guard_step_does_not_take_a_second_slot(stubbed: Any) -> None:
    store, stubber = stubbed
    mine = f"{NOW - 30}|{INSTANCE}|run-a"
    stubber.add_response("get_item", window_item(3, [mine]))  # the first attempt's reservation is there

    before = store.reserve_interrupt_slot(f"{NOW}|{INSTANCE}|run-a", now=NOW, limit=1)

    assert before == []  # granted, and no put_item: the stubber would fail on an unexpected write


def test_taking_the_lock_extends_the_items_ttl_beyond_the_lock(stubbed: Any) -> None:
    store, stubber = stubbed
    stubber.add_response("update_item", {}, {
        "TableName": TABLE_NAME, "Key": ANY, "UpdateExpression": ANY, "ConditionExpression": ANY,
        "ExpressionAttributeValues": {":owner": {"S": "run-a"}, ":expires": {"N": str(NOW + 600)},
                                      ":now": {"N": str(NOW)}, ":cutoff": {"N": str(NOW - 60)},
                                      ":id": {"S": INSTANCE}, ":ttl": {"N": str(NOW + 600 + 60 + 86400)}},
    })

    store.take_lock(INSTANCE, "run-a", now=NOW, lock_seconds=600, cooldown_seconds=60)
