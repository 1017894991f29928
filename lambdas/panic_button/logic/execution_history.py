"""What an ended execution's own history says: the last state document it carried, the state it was in,
and how it ended. Read newest first (GetExecutionHistory, reverseOrder, includeExecutionData), so an
execution that ran into the 25,000-event limit costs a page, not the whole history."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

_PAGE = 100
_TERMINAL_DETAILS = {
    "ExecutionAborted": "executionAbortedEventDetails",
    "ExecutionFailed": "executionFailedEventDetails",
    "ExecutionTimedOut": "executionTimedOutEventDetails",
}


@dataclass(frozen=True)
class LastKnown:
    """`document` is the newest state document (a state's input on entry or its output on exit); `state`
    is the state that was running (entered, not exited) or, after an exit, the one that had just finished."""

    document: dict[str, Any] | None
    state: str | None
    running: bool  # the execution ended while `state` was still running
    error: str | None
    cause: str | None


def read_last_known(sfn: Any, execution_arn: str) -> LastKnown:
    error = cause = None
    request: dict[str, Any] = {"executionArn": execution_arn, "reverseOrder": True, "maxResults": _PAGE,
                               "includeExecutionData": True}
    while True:
        page = sfn.get_execution_history(**request)
        for event in page["events"]:
            kind = str(event["type"])
            if kind in _TERMINAL_DETAILS:
                details = event.get(_TERMINAL_DETAILS[kind]) or {}
                error, cause = details.get("error"), details.get("cause")
            elif kind.endswith("StateEntered"):
                details = event["stateEnteredEventDetails"]
                return LastKnown(_object(details.get("input")), details["name"], True, error, cause)
            elif kind.endswith("StateExited"):
                details = event["stateExitedEventDetails"]
                return LastKnown(_object(details.get("output")), details["name"], False, error, cause)
        if not page.get("nextToken"):
            return LastKnown(None, None, False, error, cause)
        request["nextToken"] = page["nextToken"]


def _object(text: Any) -> dict[str, Any] | None:
    if not isinstance(text, str):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None
