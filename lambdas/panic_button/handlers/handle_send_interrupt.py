"""Lambda: send the diagnostic interrupt (or, in a dry run, only check the permission to)."""

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.aws import client
from panic_button.clock import utc_now
from panic_button.dal.guard_store import GuardStore
from panic_button.handlers.step_io import clients_for, parse_state, part
from panic_button.logic.interrupt import send_interrupt, send_interrupt_once
from panic_button.observability import logger
from panic_button.settings import get_settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, state = get_settings(), parse_state(event)
    target = state.require_target()
    logger.append_keys(instance_id=target.instance_id)
    now = utc_now()
    guards = GuardStore(client("dynamodb"), settings.table_name).for_target(target)
    ec2 = clients_for(state, context.invoked_function_arn).single_attempt_client("ec2")
    if target.dry_run:
        interrupt = send_interrupt(ec2, target.instance_id, dry_run=True, now=now)
    else:
        owner = state.guard.lock_owner if state.guard and state.guard.lock_owner else state.execution.id
        interrupt = send_interrupt_once(ec2, guards, target.instance_id, owner=owner,
                                        attempt=context.aws_request_id, now=now)
    if interrupt.sent:
        logger.info("diagnostic interrupt sent", extra={"unconfirmed": interrupt.unconfirmed})
        try:
            # The cooldown starts now, even if a later step fails.
            guards.mark_interrupted(
                target.instance_id, at=int(now.timestamp()),
                expires_at=int((now + timedelta(seconds=settings.cooldown_seconds, days=1)).timestamp()),
            )
        except Exception:
            # The NMI is out: the rescue must go on to collect the dump. RecordOutcome sets the cooldown
            # again from the state, so only this early mark is lost.
            logger.exception("could not mark the cooldown at interrupt time")
    return part(interrupt)
