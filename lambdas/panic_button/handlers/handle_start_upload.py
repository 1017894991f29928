"""Lambda: read where the dump is, presign its multipart upload, and start the `upload` command."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.aws import client
from panic_button.clock import utc_now
from panic_button.handlers.step_io import clients_for, parse_state, part
from panic_button.logic import collection_protocol as protocol
from panic_button.logic.collection import locate_or_stop, send_collector_command
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
    stdout = str(state.locate.plan.get("stdout", "")) if state.locate else ""
    s3 = client("s3")
    located = locate_or_stop(protocol.read_locate_result(s3, bucket=settings.bucket_name, keys=keys,
                                                         fallback_text=stdout))
    plan = protocol.plan_upload(s3, bucket=settings.bucket_name, keys=keys, located=located)
    ssm = clients_for(state, context.invoked_function_arn)
    document = settings.document_for(instance.platform, in_member=ssm.in_member)
    try:
        command_id = send_collector_command(
            ssm.client("ssm"), instance, document=document, action=CollectorAction.UPLOAD,
            manifest_url=plan.manifest.manifest_url, execution_timeout=settings.collection_timeout_seconds,
            execution_name=state.execution.name,
        )
    except Exception:
        protocol.abort_upload(s3, plan)  # the plan never reaches the state: clean up here
        raise
    logger.info("upload command sent", extra={"command_id": command_id, "dump": located.dump_path,
                                              "bytes": located.dump_size, "parts": plan.part_count})
    # The manifest URL opens every part URL: it goes to SSM only, never into the logged workflow state.
    stored = plan.model_dump(mode="json", exclude={"manifest": {"manifest_url"}})
    return part(CommandRef(phase="upload", command_id=command_id, document=document, sent_at=utc_now(), plan=stored))
