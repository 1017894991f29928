"""What an execution is doing, folded from its GetExecutionHistory events. Pure: no clients, no clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from panic_button.logic.execution_history import json_object
from panic_button.outcomes import Outcome
from pydantic import BaseModel, ConfigDict, Field, ValidationError

RECORD_STATE = "RecordOutcome"
_TERMINAL_EVENTS = {
    "ExecutionSucceeded": ("SUCCEEDED", "executionSucceededEventDetails"),
    "ExecutionFailed": ("FAILED", "executionFailedEventDetails"),
    "ExecutionTimedOut": ("TIMED_OUT", "executionTimedOutEventDetails"),
    "ExecutionAborted": ("ABORTED", "executionAbortedEventDetails"),
}


@dataclass
class StateVisit:
    """One state by name; loop states (WaitForRecovery, CheckRecovery...) count their visits."""

    name: str
    first_entered_at: datetime
    entered_at: datetime
    exited_at: datetime | None = None
    visits: int = 1

    def seconds(self, now: datetime) -> float:
        return ((self.exited_at or now) - self.entered_at).total_seconds()


@dataclass
class ExecutionProgress:
    started_at: datetime | None = None
    last_event_id: int = 0
    status: str = "RUNNING"
    ended_at: datetime | None = None
    visits: dict[str, StateVisit] = field(default_factory=dict)  # first-entered order
    current: str | None = None
    final_document: dict[str, Any] | None = None  # the execution output, or RecordOutcome's output
    error: str | None = None
    cause: str | None = None

    @property
    def finished(self) -> bool:
        return self.status != "RUNNING"

    def elapsed(self, now: datetime) -> float:
        if self.started_at is None:
            return 0.0
        return ((self.ended_at or now) - self.started_at).total_seconds()

    def apply(self, events: list[dict[str, Any]]) -> list[StateVisit]:
        """Fold new events in (older ones are skipped); return the states entered for the first time."""
        first_entries: list[StateVisit] = []
        for event in sorted(events, key=lambda item: int(item["id"])):
            if int(event["id"]) <= self.last_event_id:
                continue
            self.last_event_id = int(event["id"])
            entered = self._apply_one(event)
            if entered is not None:
                first_entries.append(entered)
        return first_entries

    def _apply_one(self, event: dict[str, Any]) -> StateVisit | None:
        kind, at = str(event["type"]), event["timestamp"]
        if kind == "ExecutionStarted":
            self.started_at = at
        elif kind.endswith("StateEntered"):
            return self._enter(event["stateEnteredEventDetails"]["name"], at)
        elif kind.endswith("StateExited"):
            self._exit(event["stateExitedEventDetails"], at)
        elif kind in _TERMINAL_EVENTS:
            self._finish(kind, event, at)
        return None

    def _enter(self, name: str, at: datetime) -> StateVisit | None:
        self.current = name
        visit = self.visits.get(name)
        if visit is not None:
            visit.entered_at, visit.exited_at, visit.visits = at, None, visit.visits + 1
            return None
        visit = self.visits[name] = StateVisit(name=name, first_entered_at=at, entered_at=at)
        return visit

    def _exit(self, details: dict[str, Any], at: datetime) -> None:
        visit = self.visits.get(details["name"])
        if visit is not None:
            visit.exited_at = at
        if details["name"] == RECORD_STATE:
            # A run that ends in WorkflowFailed has no execution output: the outcome lives here.
            self.final_document = json_object(details.get("output"))

    def _finish(self, kind: str, event: dict[str, Any], at: datetime) -> None:
        self.status, details_key = _TERMINAL_EVENTS[kind]
        details = event.get(details_key, {})
        self.ended_at, self.current = at, None
        if kind == "ExecutionSucceeded":
            self.final_document = json_object(details.get("output")) or self.final_document
        else:
            self.error, self.cause = details.get("error"), details.get("cause")


class _RecordedOutcome(BaseModel):
    model_config = ConfigDict(extra="ignore")
    outcome: Outcome
    reason: str = ""


class _ArtifactRef(BaseModel):
    model_config = ConfigDict(extra="ignore")
    s3_uri: str
    bytes: int = 0
    kind: str = "dump"


class _Collection(BaseModel):
    model_config = ConfigDict(extra="ignore")
    artifacts: list[_ArtifactRef] = Field(default_factory=list)


class _Triage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    summary: list[str] = Field(default_factory=list)
    culprit: str | None = None


class _FinalDocument(BaseModel):
    """The parts of the workflow's final state document an operator reads."""

    model_config = ConfigDict(extra="ignore")
    outcome: _RecordedOutcome | None = None
    collection: _Collection | None = None
    triage: _Triage | None = None


@dataclass(frozen=True)
class ExecutionResult:
    status: str
    outcome: Outcome | None
    reason: str
    artifacts: list[tuple[str, int, str]]  # (s3 uri, bytes, kind)
    triage_summary: list[str]
    error: str | None = None
    culprit: str | None = None  # the vmcore analysis' one line, shown right after the outcome

    @property
    def exit_code(self) -> int:
        """0 for DUMP_COLLECTED and DRY_RUN, 1 for any other outcome, 2 when there is no outcome at all."""
        if self.outcome is None:
            return 2
        return 0 if self.outcome.is_success else 1


def execution_result(progress: ExecutionProgress) -> ExecutionResult:
    try:
        document = _FinalDocument.model_validate(progress.final_document or {})
    except ValidationError:
        document = _FinalDocument()
    error = f"{progress.error}: {progress.cause}" if progress.error else None
    if document.outcome is None:
        return ExecutionResult(progress.status, None, error or f"execution {progress.status} without an outcome",
                               [], [], error)
    artifacts = [(item.s3_uri, item.bytes, item.kind) for item in (document.collection or _Collection()).artifacts]
    triage = document.triage or _Triage()
    return ExecutionResult(progress.status, document.outcome.outcome, document.outcome.reason, artifacts,
                           triage.summary, error, culprit=triage.culprit)
