"""Lambda: clean up after a failure while collecting (cancel, abort, delete live URLs)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.aws import client
from panic_button.handlers.step_io import clients_for, parse_state, part
from panic_button.logic.abandon import abandon_collection
from panic_button.logic.collection_plan import collection_keys
from panic_button.observability import logger
from panic_button.settings import get_settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, state = get_settings(), parse_state(event)
    instance_id = state.require_target().instance_id
    logger.append_keys(instance_id=instance_id)
    keys = collection_keys(instance_id, state.execution.name, root=settings.evidence_prefix)  # as StartLocate
    clients = clients_for(state, context.invoked_function_arn)
    abandoned = abandon_collection(clients.client("ssm"), client("s3"), state, bucket=settings.bucket_name, keys=keys)
    logger.warning("collection abandoned", extra={"detail": abandoned.detail, "not_cleaned": abandoned.not_cleaned,
                                                  "error": state.error.error if state.error else None})
    return part(abandoned)
