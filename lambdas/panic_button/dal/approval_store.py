"""DynamoDB access for approval requests: one item per execution that waits for a decision.

RequestApproval stores the task token; `panic-button approve|deny` takes the one right to decide with a
conditional update before it answers Step Functions, so two operators can never both decide, and the
loser is told who decided and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from panic_button.aws import error_code
from panic_button.clock import iso

Verdict = Literal["approve", "deny"]


def approval_key(execution_arn: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"APPROVAL#{execution_arn}"}, "sk": {"S": "TOKEN"}}


class ApprovalRequest(BaseModel):
    execution_arn: str
    instance_id: str
    task_token: str
    requested_at: datetime
    decision: Verdict | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None


class AlreadyDecided(Exception):
    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__(f"already decided ({request.decision}) by {request.decided_by} at "
                         f"{iso(request.decided_at) if request.decided_at else 'an unknown time'}")
        self.request = request


class ApprovalStore:
    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self._db, self._table = dynamodb, table_name

    def put_request(self, request: ApprovalRequest, *, expires_at: int) -> None:
        """Store (or, on a retried RequestApproval, replace) the token while nobody has decided."""
        try:
            self._db.put_item(TableName=self._table, Item={
                **approval_key(request.execution_arn),
                "execution_arn": {"S": request.execution_arn},
                "instance_id": {"S": request.instance_id},
                "task_token": {"S": request.task_token},
                "requested_at": {"S": iso(request.requested_at)},
                "expires_at": {"N": str(expires_at)},
            }, ConditionExpression="attribute_not_exists(decision)")
        except Exception as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return  # decided already: the decision stands, the new token is never answered
            raise

    def get(self, execution_arn: str) -> ApprovalRequest | None:
        item = self._db.get_item(TableName=self._table, Key=approval_key(execution_arn),
                                 ConsistentRead=True).get("Item")
        if item is None:
            return None
        return ApprovalRequest.model_validate({name: next(iter(value.values())) for name, value in item.items()
                                               if name in ApprovalRequest.model_fields})

    def decide(self, execution_arn: str, *, decision: Verdict, decided_by: str, decided_at: datetime,
               reason: str) -> ApprovalRequest:
        """Take the one right to decide; AlreadyDecided names who has it. Returns the request with its token."""
        try:
            response = self._db.update_item(
                TableName=self._table, Key=approval_key(execution_arn),
                UpdateExpression="SET decision = :d, decided_by = :by, decided_at = :at, reason = :why",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(decision)",
                ExpressionAttributeValues={":d": {"S": decision}, ":by": {"S": decided_by},
                                           ":at": {"S": iso(decided_at)}, ":why": {"S": reason}},
                ReturnValues="ALL_NEW",
            )
        except Exception as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            current = self.get(execution_arn)
            if current is None:
                raise LookupError(f"no approval request for {execution_arn}") from None
            raise AlreadyDecided(current) from None
        item = response["Attributes"]
        return ApprovalRequest.model_validate({name: next(iter(value.values())) for name, value in item.items()
                                               if name in ApprovalRequest.model_fields})

    def withdraw(self, execution_arn: str, *, decided_by: str) -> None:
        """Step Functions refused the answer (the wait had ended): the stored decision must not stand."""
        try:
            self._db.update_item(
                TableName=self._table, Key=approval_key(execution_arn),
                UpdateExpression="REMOVE decision, decided_by, decided_at, reason",
                ConditionExpression="decided_by = :by", ExpressionAttributeValues={":by": {"S": decided_by}})
        except Exception as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
