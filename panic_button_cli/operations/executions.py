"""Step Functions reads for `follow`: which execution belongs to an instance, and its new history events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from panic_button.aws import error_code

from panic_button_cli.operations.errors import OperatorError

HISTORY_PAGE_SIZE = 200
LIST_PAGE_LIMIT = 10  # 1,000 newest executions; older runs are found through the records table
NOT_FOUND_CODES = {"ExecutionDoesNotExist", "InvalidArn", "StateMachineDoesNotExist"}


def new_history_events(sfn: Any, execution_arn: str, *, after_event_id: int) -> list[dict[str, Any]]:
    """Events newer than `after_event_id`, oldest first. The API has no "since" filter, so read newest
    first and stop at the first page that reaches what we already have: one call per poll, usually."""
    events: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        request: dict[str, Any] = {"executionArn": execution_arn, "reverseOrder": True,
                                   "maxResults": HISTORY_PAGE_SIZE, "includeExecutionData": True}
        if token:
            request["nextToken"] = token
        try:
            page = sfn.get_execution_history(**request)
        except ClientError as error:
            raise _not_found_or(error, execution_arn) from None
        fresh = [event for event in page["events"] if int(event["id"]) > after_event_id]
        events.extend(fresh)
        token = page.get("nextToken")
        if not token or len(fresh) < len(page["events"]):
            return sorted(events, key=lambda event: int(event["id"]))


def latest_execution_of(sfn: Any, state_machine_arn: str, instance_id: str,
                        recorded_executions: Callable[[str], list[str]]) -> str:
    """The newer of: the newest execution named `<instance-id>-...` (manual starts) and the execution of the
    instance's latest record (alarm-started runs carry UUID names; an older manual run must not win)."""
    named = _newest_named(sfn, state_machine_arn, f"{instance_id}-")
    candidates = list(dict.fromkeys([*([named] if named else []), *recorded_executions(instance_id)]))
    started = {arn: _start_date(sfn, arn) for arn in candidates}
    known = [arn for arn in candidates if started[arn] is not None]  # history older than 90 days is gone
    if known:
        return max(known, key=lambda arn: started[arn])
    raise OperatorError(f"no execution found for {instance_id}",
                        "start one with panic-button start, or pass the execution ARN")


def _start_date(sfn: Any, execution_arn: str) -> Any:
    try:
        return describe_execution(sfn, execution_arn)["startDate"]
    except OperatorError:
        return None


def _newest_named(sfn: Any, state_machine_arn: str, prefix: str) -> str | None:
    token: str | None = None
    for _ in range(LIST_PAGE_LIMIT):
        request: dict[str, Any] = {"stateMachineArn": state_machine_arn, "maxResults": 100}
        if token:
            request["nextToken"] = token
        page = sfn.list_executions(**request)
        for execution in page["executions"]:  # newest first
            if execution["name"].startswith(prefix):
                return str(execution["executionArn"])
        token = page.get("nextToken")
        if not token:
            break
    return None


def describe_execution(sfn: Any, execution_arn: str) -> dict[str, Any]:
    try:
        return dict(sfn.describe_execution(executionArn=execution_arn))
    except ClientError as error:
        raise _not_found_or(error, execution_arn) from None


def _not_found_or(error: Exception, execution_arn: str) -> Exception:
    if error_code(error) in NOT_FOUND_CODES:
        return OperatorError(f"execution {execution_arn} not found",
                             "check the ARN and --region (panic-button history lists recent runs)")
    return error
