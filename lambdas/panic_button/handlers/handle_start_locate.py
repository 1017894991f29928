"""Lambda: ask the recovered instance (SSM `locate`) where its newest complete crash dump is, and to
hash its parts for the upload's signed checksums."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.aws import client
from panic_button.clock import utc_now
from panic_button.handlers.step_io import clients_for, parse_state, part
from panic_button.logic.collection import find_sent_command, send_once
from panic_button.logic.collection_plan import collection_keys, write_locate_manifest
from panic_button.models.collection import CollectorAction
from panic_button.models.state import CommandRef
from panic_button.observability import logger
from panic_button.settings import get_settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, state = get_settings(), parse_state(event)
    instance = state.require_instance()
    logger.append_keys(instance_id=instance.instance_id)
    ssm = clients_for(state, context.invoked_function_arn)
    document = settings.document_for(instance.platform, in_member=ssm.in_member)
    interrupted_at = state.require_interrupt().sent_at or utc_now()
    sent = find_sent_command(ssm.client("ssm"), instance.instance_id, document=document,
                             action=CollectorAction.LOCATE, execution_name=state.execution.name,
                             sent_after=interrupted_at)
    if sent is not None:  # a rerun of this step: a second locate would race the first for its result
        logger.info("locate command already sent", extra={"command_id": sent})
        return _sent(sent, document)
    keys = collection_keys(instance.instance_id, state.execution.name, root=settings.evidence_prefix)
    issued = write_locate_manifest(client("s3"), bucket=settings.bucket_name, keys=keys, interrupted_at=interrupted_at)
    # Locate reads the whole dump once to hash its parts: it gets the upload's time limit.
    command_id = send_once(
        ssm.client("ssm"), ssm.single_attempt_client("ssm"), instance, document=document,
        action=CollectorAction.LOCATE, manifest_url=issued.manifest_url,
        execution_timeout=settings.collection_timeout_seconds, execution_name=state.execution.name,
        sent_after=interrupted_at,
    )
    logger.info("locate command sent", extra={"command_id": command_id, "document": document})
    return _sent(command_id, document)


def _sent(command_id: str, document: str) -> dict[str, Any]:
    return part(CommandRef(phase="locate", command_id=command_id, document=document, sent_at=utc_now()))
