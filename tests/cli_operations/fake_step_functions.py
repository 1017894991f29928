"""An in-memory Step Functions client for the polling loop: it serves a growing event list the way the
service pages it (newest first with reverseOrder, maxResults per page, an opaque nextToken)."""

from __future__ import annotations

from typing import Any


class GrowingExecution:
    def __init__(self, execution_arn: str, polls: list[list[dict[str, Any]]]) -> None:
        self.execution_arn = execution_arn
        self._polls = polls  # the full event list as each successive poll sees it
        self._poll = -1
        self.history_calls = 0

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        return {"executionArn": executionArn, "status": "RUNNING"}

    def get_execution_history(self, executionArn: str, maxResults: int, reverseOrder: bool = False,
                              nextToken: str | None = None, includeExecutionData: bool = True) -> dict[str, Any]:
        assert executionArn == self.execution_arn
        self.history_calls += 1
        if nextToken is None:  # a new poll starts from the newest end
            self._poll = min(self._poll + 1, len(self._polls) - 1)
        events = self._polls[self._poll]
        ordered = list(reversed(events)) if reverseOrder else list(events)
        start = int(nextToken or 0)
        page: dict[str, Any] = {"events": ordered[start:start + maxResults]}
        if start + maxResults < len(ordered):
            page["nextToken"] = str(start + maxResults)
        return page
