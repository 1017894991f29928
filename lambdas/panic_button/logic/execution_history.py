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
    newest: dict[str, Any] | None = None  # the newest state entry or exit, by event ID
    ending: dict[str, Any] = {}
    request: dict[str, Any] = {"executionArn": execution_arn, "reverseOrder": True, "maxResults": _PAGE,
                               "includeExecutionData": True}
    while True:
        page = sfn.get_execution_history(**request)
        events = page["events"]
        for event in events:
            kind = str(event["type"])
            if kind in _TERMINAL_DETAILS:
                ending = event.get(_TERMINAL_DETAILS[kind]) or {}
            elif kind.endswith(("StateEntered", "StateExited")) and (newest is None or event["id"] > newest["id"]):
                newest = event
        # Newest first, as asked: the first page that names a state is enough. An emulator that ignores
        # reverseOrder (moto) is read to the end instead.
        descending = len(events) < 2 or events[0]["id"] > events[-1]["id"]
        if (newest is not None and descending) or not page.get("nextToken"):
            return _last_known(newest, ending)
        request["nextToken"] = page["nextToken"]


def _last_known(event: dict[str, Any] | None, ending: dict[str, Any]) -> LastKnown:
    error, cause = ending.get("error") or None, ending.get("cause") or None
    if event is None:
        return LastKnown(None, None, False, error, cause)
    if str(event["type"]).endswith("StateEntered"):
        details = event["stateEnteredEventDetails"]
        return LastKnown(json_object(details.get("input")), details["name"], True, error, cause)
    details = event["stateExitedEventDetails"]
    return LastKnown(json_object(details.get("output")), details["name"], False, error, cause)


def json_object(text: Any) -> dict[str, Any] | None:
    """A history event's input or output as a JSON object, or None (absent, not JSON, not an object)."""
    if not isinstance(text, str):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None
