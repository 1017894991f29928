"""Event-driven completion of the collector commands. The workflow's Await step stores its task token
keyed by command ID; SSM's "EC2 Command Invocation Status-change Notification" for the command's end
resumes it with the same CommandRef a poll would have produced. A command that ended before its token
was stored makes the Await step fail with CommandEnded, and the workflow polls instead; a lost event
runs into the Await step's timeout, and the workflow polls too. Nothing waits on an event alone."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from panic_button.aws import error_code
from panic_button.dal.command_waits import CommandWaitStore
from panic_button.errors import CollectionFailed, CommandEnded
from panic_button.logic.collection import poll_command
from panic_button.models.events import CommandInvocationDetail
from panic_button.models.state import CommandRef

# Run Command's end states (API_Command and API_CommandInvocation Status): no later change follows.
ENDED_STATUSES = ("Success", "Failed", "Cancelled", "TimedOut", "DeliveryTimedOut", "ExecutionTimedOut",
                  "Undeliverable", "Terminated", "InvalidPlatform", "AccessDenied")
# The Task gave up waiting (timed out into its fallback poll) or the execution ended: nothing to resume.
_GONE = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}
_KEEP_SECONDS = 2 * 86400  # the wait item outlives any collection; DynamoDB's TTL removes it


def wait_for_command(store: CommandWaitStore, ref: CommandRef, *, instance_id: str, task_token: str,
                     now: datetime) -> None:
    """Leave the token for the command's end event; CommandEnded if that end has already been seen."""
    if not store.wait(ref, instance_id=instance_id, task_token=task_token,
                      expires_at=int(now.timestamp()) + _KEEP_SECONDS):
        raise CommandEnded(f"the {ref.phase} command {ref.command_id} ended before its wait began")


def resume_waiter(ssm: Any, sfn: Any, store: CommandWaitStore, detail: CommandInvocationDetail, *,
                  max_polls: int, now: datetime) -> str:
    """Complete the Task waiting for this command's end, with what one poll of the command says. Returns
    what was done, for the log."""
    if detail.status not in ENDED_STATUSES:
        return f"status {detail.status} is not an end"
    waiter = store.ended(detail.command_id, detail.status, expires_at=int(now.timestamp()) + _KEEP_SECONDS)
    if waiter is None:
        return "no task waits for it yet (its wait will find it ended), or the event came again"
    try:
        polled = poll_command(ssm, waiter.ref, instance_id=waiter.instance_id, max_polls=max_polls)
    except CollectionFailed as failure:
        return _complete(sfn, waiter.task_token, error=CollectionFailed.__name__, message=str(failure))
    if not polled.done:  # the event ran ahead of GetCommandInvocation: the workflow's poll reads it later
        return _complete(sfn, waiter.task_token, error=CommandEnded.__name__,
                         message=f"the {waiter.ref.phase} command ended {detail.status}, but its invocation "
                                 f"still reads {polled.status}")
    return _complete(sfn, waiter.task_token, output=polled)


def _complete(sfn: Any, token: str, *, output: CommandRef | None = None, error: str = "", message: str = "") -> str:
    try:
        if output is not None:
            sfn.send_task_success(taskToken=token, output=output.model_dump_json())
            return "resumed: done"
        # The Cause a Lambda error would carry, so RecordOutcome reads the message the same way.
        sfn.send_task_failure(taskToken=token, error=error,
                              cause=json.dumps({"errorMessage": message, "errorType": error}))
        return f"resumed: {error}"
    except Exception as failure:
        if error_code(failure) in _GONE:
            return f"the task no longer waits ({error_code(failure)}): its fallback poll reads the result"
        raise
