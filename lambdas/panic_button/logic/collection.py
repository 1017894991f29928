"""Step 8: collect the dump through the SSM collector document, in two commands: `locate` (where is
the newest complete dump?) and `upload` (ship it through presigned multipart URLs). The instance
needs no S3 permissions; the protocol itself lives in collection_plan,
collection_verify and collection_cleanup."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from panic_button.aws import error_code
from panic_button.errors import CollectionFailed, NoDumpFound
from panic_button.logic.collection_stdout import STDOUT_READ_LIMIT
from panic_button.models.collection import CollectorAction, LocateResult
from panic_button.models.state import CommandRef, InstanceFacts

DELIVERY_TIMEOUT_SECONDS = 600
# The stack replaces a collector document whenever its content changes (infra/constructs/collector_documents.py):
# version 1 is the one this stack deployed, whatever the document's default version says.
COLLECTOR_DOCUMENT_VERSION = "1"
_IN_PROGRESS = {"Pending", "InProgress", "Delayed"}
_LISTING_SLACK = timedelta(minutes=5)
_ABANDONED = {"Cancelled", "Cancelling"}  # cancelled by AbandonCollection or an operator: never picked up again
_STDERR_KEEP = 4000  # characters of stderr read for the failure reason


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
            DocumentVersion=COLLECTOR_DOCUMENT_VERSION,
            Parameters={
                "Action": [action.value],
                "ManifestUrl": [manifest_url],
                "ExecutionTimeout": [str(execution_timeout)],
            },
            TimeoutSeconds=DELIVERY_TIMEOUT_SECONDS,
            Comment=command_comment(action, execution_name),
        )
    except Exception as error:
        code = error_code(error)
        if code in {"InvalidInstanceId", "InvalidDocument", "InvalidParameters", "UnsupportedPlatformType"}:
            raise CollectionFailed(f"SSM refused the {action.value} command: {code}: {error}") from None
        raise
    return str(response["Command"]["CommandId"])


def send_once(ssm: Any, single_attempt_ssm: Any, instance: InstanceFacts, *, document: str, action: CollectorAction,
              manifest_url: str, execution_timeout: int, execution_name: str, sent_after: datetime) -> str:
    """SendCommand at most once. `single_attempt_ssm` sends it, so no SDK retry resends a command whose answer
    was lost (a 5xx, a timeout); after such a failure, the command is looked for (with `ssm`), and the error
    stands only if it is not there. A second collector would race the first for the same write-once objects."""
    try:
        return send_collector_command(single_attempt_ssm, instance, document=document, action=action,
                                      manifest_url=manifest_url, execution_timeout=execution_timeout,
                                      execution_name=execution_name)
    except CollectionFailed:
        raise  # SSM refused the command: nothing was sent
    except Exception:
        sent = find_sent_command(ssm, instance.instance_id, document=document, action=action,
                                 execution_name=execution_name, sent_after=sent_after)
        if sent is None:
            raise
        return sent


def command_comment(action: CollectorAction, execution_name: str) -> str:
    """The SendCommand Comment that names the execution and the action: how a rerun finds its command."""
    return f"Panic Button {action.value} for {execution_name}"[:100]


def find_sent_command(ssm: Any, instance_id: str, *, document: str, action: CollectorAction,
                      execution_name: str, sent_after: datetime) -> str | None:
    """The command an earlier attempt of this step already sent, if any. SendCommand takes no idempotency
    token, and a step is rerun after its handler ran (Lambda.ServiceException, a timed-out invoke): a second
    collector on the instance would race the first for the same result objects."""
    comment = command_comment(action, execution_name)
    # The comment names the execution: the time filter only keeps the listing short (with room for clock skew).
    after = (sent_after - _LISTING_SLACK).strftime("%Y-%m-%dT%H:%M:%SZ")
    found: list[tuple[str, str]] = []
    pages = ssm.get_paginator("list_command_invocations").paginate(
        InstanceId=instance_id, Filters=[{"key": "InvokedAfter", "value": after}])
    for page in pages:
        for entry in page.get("CommandInvocations", []):
            if (entry.get("Comment") == comment and entry.get("DocumentName") == document
                    and entry.get("Status") not in _ABANDONED):
                found.append((str(entry.get("RequestedDateTime", "")), str(entry["CommandId"])))
    return max(found)[1] if found else None


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
    stderr = str(invocation.get("StandardErrorContent", ""))[-_STDERR_KEEP:]
    if status == "Success":
        return ref.model_copy(update={"attempt": attempt, "done": True, "status": status})
    if status not in _IN_PROGRESS:
        last_line = (stderr.strip().splitlines() or [invocation.get("StatusDetails", status)])[-1]
        raise CollectionFailed(f"the {ref.phase} command ended {status} on {instance_id}: {last_line}")
    if attempt >= max_polls:
        raise CollectionFailed(f"the {ref.phase} command was still {status} after {attempt} polls")
    return ref.model_copy(update={"attempt": attempt, "status": status})


def command_stdout(ssm: Any, ref: CommandRef, *, instance_id: str) -> str:
    """The stdout of a command that succeeded, from SSM itself: the workflow state is only what the
    caller of a Lambda passed in, while SSM's record of a command cannot be edited by anyone."""
    invocation = ssm.get_command_invocation(CommandId=ref.command_id, InstanceId=instance_id)
    if invocation.get("Status") != "Success" or invocation.get("DocumentName") != ref.document:
        raise CollectionFailed(f"the {ref.phase} command {ref.command_id} on {instance_id} is not a successful "
                               f"run of {ref.document}")
    return str(invocation.get("StandardOutputContent", ""))[:STDOUT_READ_LIMIT]


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
