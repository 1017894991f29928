"""The record store's lookup of an earlier attempt's record, across result pages (scripted DynamoDB answers)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from botocore.stub import ANY, Stubber
from panic_button.dal.record_store import RecordStore

from .support import NOW, TABLE_NAME, aws_client

PAGE_KEY = {"pk": {"S": "INSTANCE#unknown"}, "sk": {"S": "RUN#2026-11-20T03:00:00Z#other"}}


@pytest.fixture
def stubbed() -> Any:
    client = aws_client("dynamodb")
    with Stubber(client) as stubber:
        yield RecordStore(client, TABLE_NAME), stubber
        stubber.assert_no_pending_responses()


def find(store: RecordStore) -> Any:
    return store.find_requested_at("unknown", "run-1", since=NOW - timedelta(hours=1), until=NOW)


def test_the_lookup_reads_past_pages_the_filter_left_empty(stubbed: Any) -> None:
    store, stubber = stubbed
    stubber.add_response("query", {"Items": [], "LastEvaluatedKey": PAGE_KEY})
    stubber.add_response("query", {"Items": [{"requested_at": {"S": "2026-11-20T03:05:09.123456Z"}}]},
                         {"TableName": TABLE_NAME, "KeyConditionExpression": ANY, "FilterExpression": ANY,
                          "ExpressionAttributeValues": ANY, "ConsistentRead": True, "ExclusiveStartKey": PAGE_KEY})

    found = find(store)

    assert found is not None
    assert found.isoformat() == "2026-11-20T03:05:09.123456+00:00"


def test_no_earlier_record_is_none(stubbed: Any) -> None:
    store, stubber = stubbed
    stubber.add_response("query", {"Items": []})

    assert find(store) is None
