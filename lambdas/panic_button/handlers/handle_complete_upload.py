"""Lambda: complete the multipart upload and verify the dump's SHA-256 against the collector's."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.aws import client
from panic_button.clock import utc_now
from panic_button.handlers.step_io import parse_state, part
from panic_button.logic import collection_protocol as protocol
from panic_button.models.collection import UploadPlan
from panic_button.models.state import Artifact, Collection
from panic_button.observability import logger
from panic_button.settings import get_settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, state = get_settings(), parse_state(event)
    if state.upload is None:
        raise ValueError("complete_upload runs after the upload command")
    instance_id = state.require_target().instance_id
    logger.append_keys(instance_id=instance_id)
    s3 = client("s3")
    plan = UploadPlan.model_validate({k: v for k, v in state.upload.plan.items() if k not in ("stdout", "status")})
    keys = protocol.collection_keys(instance_id, state.execution.name, root=settings.evidence_prefix)
    located = protocol.read_locate_result(s3, bucket=settings.bucket_name, keys=keys)
    collected = protocol.complete_upload(s3, plan=plan, located=located,
                                         fallback_text=str(state.upload.plan.get("stdout", "")))
    artifacts = [Artifact(s3_uri=a.s3_uri, bytes=a.bytes, sha256=a.sha256, kind=a.kind) for a in collected.artifacts]
    dmesg = next((a.s3_uri for a in collected.artifacts if a.kind == "dmesg"), None)
    logger.info("dump collected and verified", extra={"bytes": collected.manifest.dump.bytes,
                                                      "sha256": collected.manifest.dump.sha256})
    return part(Collection(artifacts=artifacts, dump_bytes=collected.manifest.dump.bytes, dmesg_uri=dmesg,
                           collected_at=utc_now(),
                           detail={"layout": collected.manifest.layout.value,
                                   "kernel": collected.manifest.kernel_release,
                                   "not_shipped_older": len(collected.manifest.not_shipped_older)}))
