"""Lambda (EventBridge target): a collector command ended; resume the workflow Task waiting for it."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.aws import client
from panic_button.clock import utc_now
from panic_button.dal.command_waits import CommandWaitStore
from panic_button.logic.command_wait import resume_waiter
from panic_button.models.events import CommandInvocationStatusChange
from panic_button.observability import logger
from panic_button.settings import get_settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    change = CommandInvocationStatusChange.model_validate(event)
    logger.append_keys(instance_id=change.detail.instance_id, command_id=change.detail.command_id)
    done = resume_waiter(client("ssm"), client("stepfunctions"),
                         CommandWaitStore(client("dynamodb"), settings.table_name), change.detail,
                         max_polls=settings.max_collection_polls, now=utc_now())
    logger.info("collector command ended", extra={"status": change.detail.status, "done": done})
    return {"command_id": change.detail.command_id, "done": done}
