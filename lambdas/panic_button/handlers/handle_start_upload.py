"""Lambda: check the located dump's part hashes against the locate command's SSM stdout, presign each
part for its own SHA-256, and start the `upload` command."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.aws import client
from panic_button.clock import utc_now
from panic_button.handlers.step_io import clients_for, parse_state, part
from panic_button.logic.collection import command_stdout, find_sent_command, locate_or_stop, send_once
from panic_button.logic.collection_cleanup import abort_upload
from panic_button.logic.collection_plan import (
    collection_keys,
    plan_upload,
    read_locate_result,
    store_plan,
    stored_plan,
)
from panic_button.logic.dump_size import check_dump_fits_memory
from panic_button.models.collection import CollectorAction, UploadPlan
from panic_button.models.state import CommandRef
from panic_button.observability import logger
from panic_button.settings import get_settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, state = get_settings(), parse_state(event)
    instance = state.require_instance()
    if state.locate is None:
        raise ValueError("start_upload runs after the locate command")
    logger.append_keys(instance_id=instance.instance_id)
    keys = collection_keys(instance.instance_id, state.execution.name, root=settings.evidence_prefix)
    target = clients_for(state, context.invoked_function_arn)  # the instance's account: its command and output
    ssm, s3 = target.client("ssm"), client("s3")
    document = settings.document_for(instance.platform, in_member=target.in_member)
    sent = find_sent_command(ssm, instance.instance_id, document=document, action=CollectorAction.UPLOAD,
                             execution_name=state.execution.name, sent_after=state.locate.sent_at)
    earlier = stored_plan(s3, bucket=settings.bucket_name, keys=keys) if sent else None
    if sent and earlier:  # a rerun of this step: the upload it started goes on
        logger.info("upload command already sent", extra={"command_id": sent})
        return _sent(sent, document, earlier)
    stdout = command_stdout(ssm, state.locate, instance_id=instance.instance_id)
    located = locate_or_stop(read_locate_result(s3, bucket=settings.bucket_name, keys=keys, fallback_text=stdout))
    check_dump_fits_memory(client("ec2"), instance_type=instance.instance_type, dump_size=located.dump_size or 0)
    planned = plan_upload(s3, bucket=settings.bucket_name, keys=keys, located=located, locate_stdout=stdout,
                          kms_key_id=settings.dump_key_arn, ships_dmesg=instance.ships_dmesg,
                          parallel_parts=settings.upload_parallel_parts)
    store_plan(s3, planned.plan)
    try:
        command_id = send_once(
            ssm, target.single_attempt_client("ssm"), instance, document=document, action=CollectorAction.UPLOAD,
            manifest_url=planned.manifest_url, execution_timeout=settings.collection_timeout_seconds,
            execution_name=state.execution.name, sent_after=state.locate.sent_at,
        )
    except Exception:
        abort_upload(s3, planned.plan)  # the plan never reaches the state: clean up here
        raise
    logger.info("upload command sent", extra={"command_id": command_id, "dump": located.dump_path,
                                              "bytes": located.dump_size, "parts": planned.plan.part_count})
    return _sent(command_id, document, planned.plan)


def _sent(command_id: str, document: str, plan: UploadPlan) -> dict[str, Any]:
    # Only the plan goes into the state: its type has no URL field.
    return part(CommandRef(phase="upload", command_id=command_id, document=document, sent_at=utc_now(),
                           upload=plan))
