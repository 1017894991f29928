"""After a failure while collecting: stop the collector, abort the half-done upload and delete the
manifests, whose presigned URLs would otherwise stay usable for hours."""

from __future__ import annotations

from typing import Any

from panic_button.aws import error_code
from panic_button.logic import collection_protocol as protocol
from panic_button.logic.evidence_keys import s3_uri
from panic_button.models.collection import UploadPlan
from panic_button.models.state import Abandoned, RemediationState

UNVERIFIED_TAG = {"Key": "panic-button:verified", "Value": "false"}


def abandon_collection(ssm: Any, s3: Any, state: RemediationState) -> Abandoned:
    instance_id = state.require_target().instance_id
    notes = [_cancel(ssm, ref.phase, ref.command_id, instance_id)
             for ref in (state.locate, state.upload) if ref is not None and not ref.done]
    stored = state.upload.plan if state.upload else {}
    plan_fields = {k: v for k, v in stored.items() if k not in ("stdout", "status")}
    if plan_fields and state.collection is None:
        notes.append(_clean_upload(s3, UploadPlan.model_validate(plan_fields)))
    return Abandoned(detail="; ".join(notes) if notes else "nothing was left to clean up")


def _cancel(ssm: Any, phase: str, command_id: str, instance_id: str) -> str:
    try:
        ssm.cancel_command(CommandId=command_id, InstanceIds=[instance_id])
    except Exception as error:
        return f"the {phase} command could not be cancelled ({error_code(error) or type(error).__name__})"
    return f"the {phase} command was cancelled"


def _clean_upload(s3: Any, plan: UploadPlan) -> str:
    try:
        s3.head_object(Bucket=plan.bucket, Key=plan.dump_key)
    except Exception as error:
        if error_code(error) not in {"404", "NoSuchKey", "NotFound"}:
            raise
        protocol.abort_upload(s3, plan)
        return "the multipart upload was aborted and its manifests deleted"
    # Completed but never verified (e.g. verification timed out): keep the evidence, marked as such.
    s3.put_object_tagging(Bucket=plan.bucket, Key=plan.dump_key, Tagging={"TagSet": [UNVERIFIED_TAG]})
    protocol.discard_manifests(s3, plan)
    return f"an UNVERIFIED dump stays at {s3_uri(plan.bucket, plan.dump_key)} (tagged panic-button:verified=false)"
