"""Lambda: ask the recovered instance (SSM `locate`) where its newest complete crash dump is."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.aws import client
from panic_button.clock import utc_now
from panic_button.handlers.step_io import clients_for, parse_state, part
from panic_button.logic import collection_protocol as protocol
from panic_button.logic.collection import send_collector_command
from panic_button.models.collection import CollectorAction
from panic_button.models.state import CommandRef
from panic_button.observability import logger
from panic_button.settings import get_settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, state = get_settings(), parse_state(event)
    instance = state.require_instance()
    logger.append_keys(instance_id=instance.instance_id)
    keys = protocol.collection_keys(instance.instance_id, state.execution.name, root=settings.evidence_prefix)
    handle = protocol.write_locate_manifest(client("s3"), bucket=settings.bucket_name, keys=keys,
                                            interrupted_at=state.require_interrupt().sent_at or utc_now())
    ssm = clients_for(state, context.invoked_function_arn)
    document = settings.document_for(instance.platform, in_member=ssm.in_member)
    command_id = send_collector_command(
        ssm.client("ssm"), instance, document=document, action=CollectorAction.LOCATE,
        manifest_url=handle.manifest_url, execution_timeout=600, execution_name=state.execution.name,
    )
    logger.info("locate command sent", extra={"command_id": command_id, "document": document})
    return part(CommandRef(phase="locate", command_id=command_id, document=document, sent_at=utc_now()))
