"""DynamoDB access for remediation records. A record is written once per execution (conditional put),
and flagged once its notification went out, so a retried final step neither duplicates nor drops it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from panic_button.aws import error_code
from panic_button.clock import iso
from panic_button.dal.table_keys import RECORD_INDEX, RECORD_INDEX_PK, instance_key, record_key
from panic_button.models.record import RemediationRecord

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class RecordStore:
    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self._db = dynamodb
        self._table = table_name

    def key_of(self, record: RemediationRecord) -> dict[str, dict[str, str]]:
        return _typed_key(record.instance_id, record.requested_at, record.execution_name)

    def put_once(self, record: RemediationRecord, *, expires_at: int) -> bool:
        """Write the record unless this execution already has one. True when written now."""
        data = {k: v for k, v in record.model_dump(mode="json").items() if v not in (None, [], "")}
        item = {name: _serializer.serialize(value) for name, value in data.items()}
        item.update(self.key_of(record))
        item.update({
            "gsi1pk": {"S": RECORD_INDEX_PK},
            "gsi1sk": {"S": f"{iso(record.requested_at)}#{record.execution_name}"},
            "expires_at": {"N": str(expires_at)},
            "notified": {"BOOL": False},
        })
        try:
            self._db.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except Exception as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def exists(self, instance_id: str, requested_at: datetime, execution_name: str) -> bool:
        """Whether this execution's record was written (by RecordOutcome or the aborted-run recorder)."""
        item = self._db.get_item(TableName=self._table, Key=_typed_key(instance_id, requested_at, execution_name),
                                 ConsistentRead=True, ProjectionExpression="pk").get("Item")
        return item is not None

    def find_requested_at(self, instance_id: str, execution_name: str, *, since: datetime,
                          until: datetime) -> datetime | None:
        """`requested_at` of this execution's record if one was written between `since` and `until`."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :from AND :to",
            "FilterExpression": "execution_name = :name",
            "ExpressionAttributeValues": {
                ":pk": {"S": instance_key(instance_id)["pk"]}, ":name": {"S": execution_name},
                ":from": {"S": f"RUN#{iso(since)}"}, ":to": {"S": f"RUN#{iso(until)}#\uffff"},
            },
            "ConsistentRead": True,
        }
        while True:
            page = self._db.query(**query)
            if page["Items"]:
                return datetime.fromisoformat(page["Items"][0]["requested_at"]["S"])
            if "LastEvaluatedKey" not in page:
                return None
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def claim_notification(self, record: RemediationRecord, *, now: int, claim: str) -> bool:
        """Take the one right to notify for this record; True when this caller took it.

        Claimed before publishing, in one conditional write: a retry after a publish (whatever failed
        next) finds the claim and never publishes again. A crash between the claim and the publish loses
        that one message: at most once, because SNS standard topics cannot deduplicate a second one.
        `claim` names this caller's claim, so the SDK's retry of a claim that went through but whose answer
        was lost takes it again instead of reading it as someone else's."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=self.key_of(record),
                UpdateExpression="SET notified = :yes, notify_claimed_at = :now, notify_claim = :claim",
                ConditionExpression="attribute_exists(pk) AND (notified = :no OR notify_claim = :claim)"
                                    " AND attribute_not_exists(message_id)",
                ExpressionAttributeValues={":yes": {"BOOL": True}, ":no": {"BOOL": False}, ":now": {"N": str(now)},
                                           ":claim": {"S": claim}},
            )
        except Exception as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_notification(self, record: RemediationRecord, claim: str) -> bool:
        """Give back `claim` before anything was published (SNS answered with an error, or the claim's own
        write failed with its outcome unknown), so a retry can notify. True when it was this caller's."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=self.key_of(record),
                UpdateExpression="SET notified = :no REMOVE notify_claimed_at, notify_claim",
                ConditionExpression="notify_claim = :claim AND attribute_not_exists(message_id)",
                ExpressionAttributeValues={":no": {"BOOL": False}, ":claim": {"S": claim}},
            )
        except Exception as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def was_notified(self, record: RemediationRecord) -> bool:
        item = self._db.get_item(TableName=self._table, Key=self.key_of(record), ConsistentRead=True).get("Item")
        return bool(item and item.get("notified", {}).get("BOOL"))

    def mark_notified(self, record: RemediationRecord, message_id: str) -> None:
        """Keep the message ID beside the claim (the claim already set `notified`)."""
        self._db.update_item(
            TableName=self._table,
            Key=self.key_of(record),
            UpdateExpression="SET notified = :yes, message_id = :id",
            ExpressionAttributeValues={":yes": {"BOOL": True}, ":id": {"S": message_id}},
        )

    def recent(self, *, since_iso: str, limit: int = 200) -> list[dict[str, Any]]:
        response = self._db.query(
            TableName=self._table,
            IndexName=RECORD_INDEX,
            KeyConditionExpression="gsi1pk = :pk AND gsi1sk >= :since",
            ExpressionAttributeValues={":pk": {"S": RECORD_INDEX_PK}, ":since": {"S": since_iso}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [{k: _deserializer.deserialize(v) for k, v in item.items()} for item in response["Items"]]


def _typed_key(instance_id: str, requested_at: datetime, execution_name: str) -> dict[str, dict[str, str]]:
    key = record_key(instance_id, iso(requested_at), execution_name)
    return {name: {"S": value} for name, value in key.items()}
