"""After a failure while collecting: stop the collector, abort the half-done upload, delete the
manifests and use up the write-once URLs, all of which would otherwise stay usable for hours. Every step
runs whatever another one answered; an answer meaning "already done" counts as done."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from panic_button.aws import error_code
from panic_button.logic.collection_cleanup import UNVERIFIED_TAG, purge_object, spend_write_once_urls
from panic_button.logic.evidence_keys import s3_uri
from panic_button.logic.plan_scope import check_plan_scope
from panic_button.models.collection import CollectionKeys, CollectorAction, UploadPlan
from panic_button.models.state import Abandoned, CommandRef, RemediationState

_MISSING = {"404", "NoSuchKey", "NotFound"}

Step = Callable[[], str]  # one cleanup; returns what it did ("" for nothing to say)


NOTHING_LEFT = "nothing was left to clean up"


def abandon_collection(
    ssm: Any, s3: Any, state: RemediationState, *, bucket: str, keys: CollectionKeys
) -> Abandoned:
    """`bucket` and `keys` locate the manifests: a locate manifest exists before any upload plan does."""
    steps = _steps(ssm, s3, state, bucket, keys)
    done: list[str] = []
    not_cleaned: list[str] = []
    for what, step in steps:
        try:
            note = step()
        except Exception as error:  # one step's failure must not stop the others
            not_cleaned.append(f"could not {what} ({error_code(error) or type(error).__name__})")
        else:
            done += [note] if note else []
    detail = "; ".join([*not_cleaned, *done]) or NOTHING_LEFT
    return Abandoned(detail=" ".join(detail.split()), not_cleaned=not_cleaned)  # one line, whatever a note held


def _steps(ssm: Any, s3: Any, state: RemediationState, bucket: str, keys: CollectionKeys) -> list[tuple[str, Step]]:
    instance_id = state.require_target().instance_id
    steps: list[tuple[str, Step]] = [
        (f"cancel the {ref.phase} command", partial(_cancel, ssm, ref, instance_id))
        for ref in (state.locate, state.upload)
        if ref is not None and not ref.done
    ]
    plan = _upload_plan(state)
    if plan is not None:  # a crafted state must not make this step abort or tag anyone else's upload
        check_plan_scope(plan, bucket=bucket, keys=keys)
    if plan is not None and state.collection is None:
        steps.append(("abort the multipart upload", partial(_end_upload, s3, plan)))
    found: dict[CollectorAction, int] = {}  # manifest versions the purges found
    for action in CollectorAction:
        key = keys.collector_key(action, "manifest")
        steps.append((f"delete every version of {action.value}.manifest",
                       partial(_purge, s3, bucket, key, found, action)))
    # Write-once URLs went out with a manifest: its step returned (the state says so), or was stopped after
    # writing it (a purge found it). A manifest that never went out issued none to use up.
    sent = {CollectorAction.LOCATE: state.locate is not None, CollectorAction.UPLOAD: state.upload is not None}
    dmesg = plan.ships_dmesg if plan is not None else (state.instance is None or state.instance.ships_dmesg)

    def issued() -> list[str]:
        return [key for action in CollectorAction if sent[action] or found.get(action, 0)
                for key in keys.write_once_keys(action, dmesg=dmesg)]

    steps.append(("use up the write-once URLs", partial(_spend, s3, bucket, issued)))
    return steps


def _upload_plan(state: RemediationState) -> UploadPlan | None:
    return state.upload.upload if state.upload else None


def _cancel(ssm: Any, ref: CommandRef, instance_id: str) -> str:
    try:
        ssm.cancel_command(CommandId=ref.command_id, InstanceIds=[instance_id])
    except Exception as error:
        # The workflow sent this command, so the id is real: InvalidCommandId means it has ended
        # (panic_button_sandbox/moto_ssm.py: _already_ended).
        if error_code(error) != "InvalidCommandId":
            raise
        return f"the {ref.phase} command had already ended"
    return f"the {ref.phase} command was cancelled"


def _end_upload(s3: Any, plan: UploadPlan) -> str:
    try:
        s3.head_object(Bucket=plan.bucket, Key=plan.dump_key)
    except Exception as error:
        if error_code(error) not in _MISSING:
            raise
        return _abort(s3, plan)
    # Completed but never verified (e.g. verification timed out): keep the evidence, marked as such.
    s3.put_object_tagging(Bucket=plan.bucket, Key=plan.dump_key, Tagging={"TagSet": [UNVERIFIED_TAG]})
    return f"an UNVERIFIED dump stays at {s3_uri(plan.bucket, plan.dump_key)} (tagged panic-button:verified=false)"


def _abort(s3: Any, plan: UploadPlan) -> str:
    try:
        s3.abort_multipart_upload(Bucket=plan.bucket, Key=plan.dump_key, UploadId=plan.upload_id)
    except Exception as error:
        if error_code(error) != "NoSuchUpload":
            raise
        return "the multipart upload was already gone"
    return "the multipart upload was aborted"


def _purge(s3: Any, bucket: str, key: str, found: dict[CollectorAction, int], action: CollectorAction) -> str:
    try:
        removed = purge_object(s3, bucket, key)
    except Exception:
        found[action] = 1  # it may exist: its URLs may have gone out
        s3.delete_object(Bucket=bucket, Key=key)  # at least GetObject stops reading it; still reported
        raise
    found[action] = removed
    name = key.rsplit("/", 1)[-1]
    return f"{name} deleted ({removed} version{'s' if removed != 1 else ''})" if removed else ""


def _spend(s3: Any, bucket: str, issued: Callable[[], list[str]]) -> str:
    spent = spend_write_once_urls(s3, bucket, issued())
    return f"{len(spent)} unused write-once URL{'s' if len(spent) != 1 else ''} used up" if spent else ""
