"""After an execution ended outside the workflow: leave as little of its collection behind as the grants
allow, exactly as AbandonCollection does (cancel the collector, abort the upload or keep a completed dump
tagged unverified, purge every version of both manifests, which hold live presigned URLs). The manifests go
by their fixed keys whatever the state says: it may lag behind the last step (StartUpload writes the
manifest before it returns its plan). An upload whose ID never reached the state cannot be found without
listing the bucket, which no role may do: the bucket's lifecycle rule aborts it after a day."""

from __future__ import annotations

from typing import Any

from panic_button.logic.abandon import NOTHING_LEFT, abandon_collection
from panic_button.logic.collection_plan import collection_keys
from panic_button.models.state import RemediationState


def clean_up_collection(ssm: Any, s3: Any, state: RemediationState, *, bucket: str, root: str) -> str | None:
    """What was cleaned up, or None when the run never got as far as collecting (no interrupt sent)."""
    if state.target is None or state.interrupt is None or not state.interrupt.sent:
        return None
    keys = collection_keys(state.target.instance_id, state.execution.name, root=root)
    detail = abandon_collection(ssm, s3, state, bucket=bucket, keys=keys).detail
    return None if detail == NOTHING_LEFT else detail  # a record says what was cleaned, not what was not there
