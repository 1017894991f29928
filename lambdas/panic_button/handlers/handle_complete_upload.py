"""Lambda: complete the multipart upload and verify it from S3's composite checksum and the SSM stdout."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.aws import client
from panic_button.clock import utc_now
from panic_button.handlers.step_io import parse_state, part
from panic_button.logic.collection import command_stdout
from panic_button.logic.collection_plan import collection_keys, read_locate_result
from panic_button.logic.collection_verify import complete_upload
from panic_button.logic.plan_scope import check_plan_scope
from panic_button.models.state import Artifact, Collection
from panic_button.observability import logger
from panic_button.settings import get_settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, state = get_settings(), parse_state(event)
    if state.upload is None or state.upload.upload is None or state.locate is None:
        raise ValueError("complete_upload runs after the upload command")
    instance_id = state.require_target().instance_id
    logger.append_keys(instance_id=instance_id)
    ssm, s3 = client("ssm"), client("s3")
    keys = collection_keys(instance_id, state.execution.name, root=settings.evidence_prefix)
    plan = check_plan_scope(state.upload.upload, bucket=settings.bucket_name, keys=keys)
    locate_stdout = command_stdout(ssm, state.locate, instance_id=instance_id)
    upload_stdout = command_stdout(ssm, state.upload, instance_id=instance_id)
    located = read_locate_result(s3, bucket=settings.bucket_name, keys=keys, fallback_text=locate_stdout)
    collected = complete_upload(s3, plan=plan, located=located, locate_stdout=locate_stdout,
                                upload_stdout=upload_stdout)
    artifacts = [Artifact(s3_uri=a.s3_uri, bytes=a.bytes, sha256=a.sha256, kind=a.kind) for a in collected.artifacts]
    dmesg = next((a.s3_uri for a in collected.artifacts if a.kind == "dmesg"), None)
    logger.info("dump collected and verified", extra={"bytes": collected.manifest.dump.bytes,
                                                      "checksum_sha256": collected.manifest.checksum_sha256})
    return part(Collection(artifacts=artifacts, dump_bytes=collected.manifest.dump.bytes, dmesg_uri=dmesg,
                           collected_at=utc_now(),
                           detail={"layout": collected.manifest.layout.value,
                                   "kernel": collected.manifest.kernel_release,
                                   "not_shipped_older": len(collected.manifest.not_shipped_older)}))
