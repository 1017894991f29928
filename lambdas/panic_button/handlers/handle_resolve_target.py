"""Lambda: resolve the alarm event or manual input into a target instance."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.aws import member_location
from panic_button.clock import utc_now
from panic_button.handlers.step_io import part
from panic_button.logic.targets import resolve_target
from panic_button.observability import logger
from panic_button.settings import get_settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    target = resolve_target(event.get("input"), now=utc_now(), dry_run_default=get_settings().dry_run_default)
    # The target keeps an account and Region only for a member's instance (in an organization hub): this
    # account's own, and every target of a single-account stack, carry none, so their state and keys stay as they were.
    member = member_location(target.account, target.region, function_arn=context.invoked_function_arn)
    target = target.model_copy(update={"account": member[0] if member else None,
                                       "region": member[1] if member else None})
    logger.append_keys(instance_id=target.instance_id)
    logger.info("target resolved", extra={"trigger": target.trigger, "dry_run": target.dry_run})
    return part(target)
