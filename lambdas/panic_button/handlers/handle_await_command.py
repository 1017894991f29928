"""Lambda (a `.waitForTaskToken` Task): leave the task token for the collector command's end event."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.aws import client
from panic_button.clock import utc_now
from panic_button.dal.command_waits import CommandWaitStore
from panic_button.handlers.step_io import parse_state
from panic_button.logic.command_wait import wait_for_command
from panic_button.observability import logger
from panic_button.settings import get_settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    phase, token = event.get("phase"), event.get("task_token")
    state = parse_state(event.get("state", {}))
    ref = state.locate if phase == "locate" else state.upload
    if phase not in ("locate", "upload") or ref is None or not isinstance(token, str) or not token:
        raise ValueError(f"await_command needs phase locate|upload, its command in the state and a task token, "
                         f"got {phase!r}")
    instance_id = state.require_target().instance_id
    logger.append_keys(instance_id=instance_id)
    wait_for_command(CommandWaitStore(client("dynamodb"), get_settings().table_name), ref,
                     instance_id=instance_id, task_token=token, now=utc_now())
    logger.info("waiting for the collector command's end", extra={"phase": phase, "command_id": ref.command_id})
    return {"waiting": ref.command_id}  # Step Functions ignores it: SendTaskSuccess gives the result
