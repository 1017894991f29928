"""After an execution ended outside the workflow: leave as little of its collection behind as the grants
allow. What the state names is cleaned up as AbandonCollection does (cancel the collector, abort the upload,
keep a completed dump tagged unverified). Both manifests are deleted by their fixed keys in any case: the
state may lag behind the last step (StartUpload writes the manifest before it returns its plan), and a
manifest holds live presigned URLs. An upload whose ID never reached the state cannot be found without
listing the bucket, which no role may do: the bucket's lifecycle rule aborts it after a day."""

from __future__ import annotations

from typing import Any

from panic_button.logic import collection_protocol as protocol
from panic_button.logic.abandon import abandon_collection
from panic_button.models.collection import CollectorAction
from panic_button.models.state import RemediationState


def clean_up_collection(ssm: Any, s3: Any, state: RemediationState, *, bucket: str, root: str) -> str | None:
    """What was cleaned up, or None when the run never got as far as collecting (no interrupt sent)."""
    if state.target is None or state.interrupt is None or not state.interrupt.sent:
        return None
    notes = []
    if state.locate is not None or state.upload is not None:
        notes.append(abandon_collection(ssm, s3, state).detail)
    keys = protocol.collection_keys(state.target.instance_id, state.execution.name, root=root)
    for action in CollectorAction:
        s3.delete_object(Bucket=bucket, Key=keys.collector_key(action, "manifest"))
    return "; ".join(notes) if notes else None
