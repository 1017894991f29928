"""Lambda: re-check the status just before the interrupt; a healed instance is left alone."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.handlers.step_io import clients_for, parse_state
from panic_button.logic.interrupt import confirm_still_impaired
from panic_button.observability import logger


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = parse_state(event)
    instance_id = state.require_target().instance_id
    logger.append_keys(instance_id=instance_id)
    status = confirm_still_impaired(clients_for(state, context.invoked_function_arn).client("ec2"), instance_id)
    logger.info("instance still impaired", extra=status)
    return dict(status)
