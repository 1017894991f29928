"""Lambda: one poll of the instance's recovery after the interrupt."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.clock import utc_now
from panic_button.handlers.step_io import clients_for, parse_state, part
from panic_button.logic.recovery import RecoveryBudget, check_recovery
from panic_button.observability import logger
from panic_button.settings import get_settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, state = get_settings(), parse_state(event)
    instance_id = state.require_target().instance_id
    logger.append_keys(instance_id=instance_id)
    clients = clients_for(state, context.invoked_function_arn)
    recovery = check_recovery(
        clients.client("ec2"), clients.client("ssm"), instance_id=instance_id,
        interrupted_at=state.require_interrupt().sent_at or utc_now(),
        previous=state.recovery,
        budget=RecoveryBudget(timeout_seconds=settings.recovery_timeout_seconds,
                              poll_interval_seconds=settings.poll_interval_seconds,
                              platform=state.require_instance().platform),
        now=utc_now(),
    )
    logger.info("recovery poll", extra={"status": recovery.status, "attempt": recovery.attempt,
                                        "detail": recovery.detail, "next_poll_seconds": recovery.next_poll_seconds})
    return part(recovery)
