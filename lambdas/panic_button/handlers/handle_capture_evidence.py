"""Lambda: store the console output and a screenshot before the interrupt destroys them."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.aws import client
from panic_button.handlers.step_io import clients_for, parse_state, part
from panic_button.logic.evidence import capture_evidence
from panic_button.logic.evidence_keys import execution_prefix
from panic_button.observability import logger
from panic_button.settings import get_settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, state = get_settings(), parse_state(event)
    instance_id = state.require_target().instance_id
    logger.append_keys(instance_id=instance_id)
    clients = clients_for(state, context.invoked_function_arn)
    evidence = capture_evidence(
        clients.client("ec2"), client("s3"), instance_id=instance_id, bucket=settings.bucket_name,
        prefix=execution_prefix(settings.evidence_prefix, instance_id, state.execution.name),
    )
    if evidence.errors:
        logger.warning("evidence partly missing", extra={"errors": evidence.errors})
    return part(evidence)
