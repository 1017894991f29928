"""Read remediation records for `history` and `follow`: by instance partition or the by-time index."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from panic_button.clock import iso
from panic_button.dal.table_keys import RECORD_INDEX, RECORD_INDEX_PK
from panic_button.models.record import RemediationRecord
from pydantic import ValidationError

from panic_button_cli.operations.errors import OperatorError

_SINCE = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_RECORD_FIELDS = set(RemediationRecord.model_fields)
_deserializer = TypeDeserializer()


def parse_since(text: str) -> timedelta:
    match = _SINCE.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise OperatorError(f"--since {text!r} is not a duration", "use a number and m, h or d: 30m, 6h, 7d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def query_records(dynamodb: Any, table_name: str, *, since: datetime, instance_id: str | None = None,
                  limit: int = 500) -> list[RemediationRecord]:
    """Records requested at or after `since`, newest first."""
    if instance_id:
        # Records sort as RUN#<iso>#<name> beside the instance's STATE item; "RUN#~" caps the range.
        request: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :from AND :to",
            "ExpressionAttributeValues": {":pk": {"S": f"INSTANCE#{instance_id}"},
                                          ":from": {"S": f"RUN#{iso(since)}"}, ":to": {"S": "RUN#~"}},
        }
    else:
        request = {
            "IndexName": RECORD_INDEX,
            "KeyConditionExpression": "gsi1pk = :pk AND gsi1sk >= :since",
            "ExpressionAttributeValues": {":pk": {"S": RECORD_INDEX_PK}, ":since": {"S": iso(since)}},
        }
    return _paged(dynamodb, {"TableName": table_name, "ScanIndexForward": False, **request}, limit)


def record_of_execution(dynamodb: Any, table_name: str, execution_arn: str, *,
                        started_at: datetime) -> RemediationRecord | None:
    """The execution's one record: every record is requested after its execution started, so the time
    index from the start on holds it (alarm-started runs carry UUID names: the ARN is the only key)."""
    request: dict[str, Any] = {
        "TableName": table_name, "IndexName": RECORD_INDEX,
        "KeyConditionExpression": "gsi1pk = :pk AND gsi1sk >= :since",
        "FilterExpression": "execution_id = :arn",
        "ExpressionAttributeValues": {":pk": {"S": RECORD_INDEX_PK}, ":since": {"S": iso(started_at)},
                                      ":arn": {"S": execution_arn}},
    }
    while True:
        response = dynamodb.query(**request)
        if response.get("Items"):
            return _record(response["Items"][0])
        if "LastEvaluatedKey" not in response:
            return None
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def latest_record_executions(dynamodb: Any, table_name: str, instance_id: str, limit: int = 3) -> list[str]:
    """Execution ARNs of the instance's newest records, however old. Several: records requested in the same
    second sort by execution name, so the caller decides by the executions' own start times."""
    response = dynamodb.query(
        TableName=table_name,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :run)",
        ExpressionAttributeValues={":pk": {"S": f"INSTANCE#{instance_id}"}, ":run": {"S": "RUN#"}},
        ScanIndexForward=False, Limit=limit,
    )
    return [str(item["execution_id"]["S"]) for item in response.get("Items", []) if "execution_id" in item]


def in_flight_execution(dynamodb: Any, table_name: str, state_machine_arn: str, instance_id: str,
                        now: float) -> str | None:
    """The execution holding the instance's lock right now (alarm-started runs carry UUID names, so the
    lock, which names its owner execution, is the one place that ties them to the instance)."""
    item = dynamodb.get_item(TableName=table_name, Key={"pk": {"S": f"INSTANCE#{instance_id}"}, "sk": {"S": "STATE"}},
                             ConsistentRead=True).get("Item", {})
    owner = item.get("lock_owner", {}).get("S")
    expires = int(item.get("lock_expires_at", {}).get("N", "0"))
    if not owner or expires < now:
        return None
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{owner}"


def _paged(dynamodb: Any, request: dict[str, Any], limit: int) -> list[RemediationRecord]:
    records: list[RemediationRecord] = []
    while len(records) < limit:
        response = dynamodb.query(**request, Limit=min(100, limit - len(records)))
        records.extend(_record(item) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            break
        request = {**request, "ExclusiveStartKey": response["LastEvaluatedKey"]}
    return records


def _record(item: dict[str, Any]) -> RemediationRecord:
    # Keys, index attributes, TTL and the notification flag are storage details, not the record.
    data = {name: _deserializer.deserialize(value) for name, value in item.items() if name in _RECORD_FIELDS}
    try:
        return RemediationRecord.model_validate(data)
    except ValidationError as error:
        raise OperatorError(f"record {item.get('sk', {}).get('S', '?')} is unreadable: {error.errors()[0]['msg']}",
                            "upgrade panic-button to the stack's version") from None
