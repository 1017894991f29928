"""Lambda: after NOT_RECOVERED, apply the configured fallback (none or reboot)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.handlers.step_io import clients_for, parse_state, part
from panic_button.logic.fallback import apply_fallback
from panic_button.observability import logger
from panic_button.settings import get_settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = parse_state(event)
    instance_id = state.require_target().instance_id
    logger.append_keys(instance_id=instance_id)
    clients = clients_for(state, context.invoked_function_arn)
    fallback = apply_fallback(clients.client("ec2"), instance_id, get_settings().not_recovered_fallback)
    logger.warning("instance not recovered", extra={"fallback": fallback.action})
    return part(fallback)
