"""Lambda: authorize the target by its opt-in tag and check it can take a diagnostic interrupt."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.aws import client
from panic_button.handlers.step_io import parse_state, part
from panic_button.logic.eligibility import check_eligibility
from panic_button.observability import logger
from panic_button.settings import get_settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, target = get_settings(), parse_state(event).require_target()
    logger.append_keys(instance_id=target.instance_id)
    facts = check_eligibility(client("ec2"), target.instance_id, tag_key=settings.opt_in_tag_key,
                              tag_value=settings.opt_in_tag_value, approval_value=settings.approval_tag_value)
    logger.info("instance eligible", extra={"platform": facts.platform, "instance_type": facts.instance_type})
    return part(facts)
