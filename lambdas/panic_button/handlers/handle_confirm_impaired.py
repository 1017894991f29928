"""Lambda: re-check the status just before the interrupt; a healed instance is left alone."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.aws import client
from panic_button.handlers.step_io import parse_state
from panic_button.logic.interrupt import confirm_still_impaired
from panic_button.observability import logger


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    instance_id = parse_state(event).require_target().instance_id
    logger.append_keys(instance_id=instance_id)
    status = confirm_still_impaired(client("ec2"), instance_id)
    logger.info("instance still impaired", extra=status)
    return dict(status)
