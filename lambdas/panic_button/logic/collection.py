"""Step 8: collect the dump through the SSM collector document, in two commands: `locate` (where is
the newest complete dump?) and `upload` (ship it through presigned multipart URLs). The instance
needs no S3 permissions; the protocol itself lives in collection_protocol."""

from __future__ import annotations

from typing import Any

from panic_button.aws import error_code
from panic_button.errors import CollectionFailed, NoDumpFound
from panic_button.models.collection import CollectorAction, LocateResult
from panic_button.models.state import CommandRef, InstanceFacts

DELIVERY_TIMEOUT_SECONDS = 600
_IN_PROGRESS = {"Pending", "InProgress", "Delayed"}
_OUTPUT_KEEP = 4000  # characters of stdout/stderr kept in the state (Step Functions caps it at 256 KB)


def send_collector_command(
    ssm: Any,
    instance: InstanceFacts,
    *,
    document: str,
    action: CollectorAction,
    manifest_url: str,
    execution_timeout: int,
    execution_name: str,
) -> str:
    try:
        response = ssm.send_command(
            InstanceIds=[instance.instance_id],
            DocumentName=document,
            Parameters={
                "Action": [action.value],
                "ManifestUrl": [manifest_url],
                "ExecutionTimeout": [str(execution_timeout)],
            },
            TimeoutSeconds=DELIVERY_TIMEOUT_SECONDS,
            Comment=f"Panic Button {action.value} for {execution_name}"[:100],
        )
    except Exception as error:
        code = error_code(error)
        if code in {"InvalidInstanceId", "InvalidDocument", "InvalidParameters", "UnsupportedPlatformType"}:
            raise CollectionFailed(f"SSM refused the {action.value} command: {code}: {error}") from None
        raise
    return str(response["Command"]["CommandId"])


def poll_command(ssm: Any, ref: CommandRef, *, instance_id: str, max_polls: int) -> CommandRef:
    """One poll; `done` when the command succeeded. Failure, time-out or too many polls: CollectionFailed."""
    attempt = ref.attempt + 1
    try:
        invocation = ssm.get_command_invocation(CommandId=ref.command_id, InstanceId=instance_id)
    except Exception as error:
        if error_code(error) != "InvocationDoesNotExist":  # not registered yet, right after SendCommand
            raise
        invocation = {"Status": "Pending", "StandardOutputContent": "", "StandardErrorContent": ""}
    status = invocation["Status"]
    stdout = str(invocation.get("StandardOutputContent", ""))[-_OUTPUT_KEEP:]
    stderr = str(invocation.get("StandardErrorContent", ""))[-_OUTPUT_KEEP:]
    if status == "Success":
        return ref.model_copy(
            update={"attempt": attempt, "done": True, "plan": {**ref.plan, "stdout": stdout, "status": status}}
        )
    if status not in _IN_PROGRESS:
        last_line = (stderr.strip().splitlines() or [invocation.get("StatusDetails", status)])[-1]
        raise CollectionFailed(f"the {ref.phase} command ended {status} on {instance_id}: {last_line}")
    if attempt >= max_polls:
        raise CollectionFailed(f"the {ref.phase} command was still {status} after {attempt} polls")
    return ref.model_copy(update={"attempt": attempt, "plan": {**ref.plan, "status": status}})


def no_dump_reason(located: LocateResult) -> str:
    parts = ["no complete crash dump was written after the interrupt"]
    if located.recent_incomplete():
        paths = ", ".join(f.path for f in located.recent_incomplete())
        parts.append(f"an INCOMPLETE dump exists (kdump started but did not finish): {paths}")
    if located.older:
        parts.append(f"{len(located.older)} older dump(s) left on the instance, not shipped")
    if located.searched:
        parts.append("searched " + ", ".join(located.searched))
    parts.append("check kdump readiness (crashkernel=, kdump service, kernel.unknown_nmi_panic=1)")
    return "; ".join(parts)


def locate_or_stop(located: LocateResult) -> LocateResult:
    if located.status != "found":
        raise NoDumpFound(no_dump_reason(located))
    return located
