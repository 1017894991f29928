"""Lambda: one poll of the collector command (locate or upload phase)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.handlers.step_io import clients_for, parse_state, part
from panic_button.logic.collection import poll_command
from panic_button.observability import logger
from panic_button.settings import get_settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    phase = event.get("phase")
    state = parse_state(event.get("state", {}))
    ref = state.locate if phase == "locate" else state.upload
    if phase not in ("locate", "upload") or ref is None:
        raise ValueError(f"poll_command needs phase locate|upload with its command in the state, got {phase!r}")
    instance_id = state.require_target().instance_id
    logger.append_keys(instance_id=instance_id)
    polled = poll_command(clients_for(state, context.invoked_function_arn).client("ssm"), ref, instance_id=instance_id,
                          max_polls=get_settings().max_collection_polls)
    logger.info("collector command poll", extra={"phase": phase, "done": polled.done, "attempt": polled.attempt})
    return part(polled)
