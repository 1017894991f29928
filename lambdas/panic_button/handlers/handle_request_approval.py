"""Lambda (`.waitForTaskToken`): store the task token and ask a person to decide. The task then waits
for `panic-button approve|deny`; this function's return value is not the task's result."""

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from panic_button.aws import client
from panic_button.clock import utc_now
from panic_button.dal.approval_store import ApprovalRequest, ApprovalStore
from panic_button.handlers.step_io import parse_state
from panic_button.logic.approval import request_text
from panic_button.logic.notification import console_url
from panic_button.observability import logger
from panic_button.settings import get_settings

_SUBJECT = "[Panic Button] APPROVAL NEEDED {instance_id}: interrupt waits for a decision"
_KEEP_AFTER_TIMEOUT = timedelta(days=1)  # the TTL: long enough for "already decided by" after the wait


class ApprovalTask(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1)
    state: dict[str, Any]


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, task = get_settings(), ApprovalTask.model_validate(event)
    state = parse_state(task.state)
    instance = state.require_instance()
    logger.append_keys(instance_id=instance.instance_id)
    now, arn = utc_now(), state.execution.id
    expires_at = now + timedelta(seconds=settings.approval_timeout_seconds) + _KEEP_AFTER_TIMEOUT
    ApprovalStore(client("dynamodb"), settings.table_name).put_request(
        ApprovalRequest(execution_arn=arn, instance_id=instance.instance_id, task_token=task.token, requested_at=now),
        expires_at=int(expires_at.timestamp()))
    evidence = state.evidence
    uris = [u for u in (evidence.console_output_uri, evidence.screenshot_uri) if u] if evidence else []
    message = request_text(execution_arn=arn, instance_id=instance.instance_id, instance_name=instance.name,
                           timeout_minutes=settings.approval_timeout_seconds // 60,
                           heartbeat_minutes=settings.approval_heartbeat_seconds // 60,
                           on_timeout=settings.approval_on_timeout, evidence=uris, console_url=console_url(arn))
    response = client("sns").publish(
        TopicArn=settings.topic_arn, Subject=_SUBJECT.format(instance_id=instance.instance_id), Message=message,
        MessageAttributes={"outcome": {"DataType": "String", "StringValue": "APPROVAL_NEEDED"},
                           "instance_id": {"DataType": "String", "StringValue": instance.instance_id},
                           "needs_attention": {"DataType": "String", "StringValue": "true"}})
    logger.info("approval requested", extra={"message_id": response["MessageId"]})
    return {"message_id": response["MessageId"]}
