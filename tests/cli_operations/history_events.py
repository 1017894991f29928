"""GetExecutionHistory events in the AWS API shape (as boto3 returns them: datetimes, int ids), built the
way Step Functions emits them for this workflow's states."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

STARTED = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
DUMP_URI = "s3://panic-button-evidence/dumps/i-0123456789abcdef0/vmcore"
TRIAGE = ["Kernel panic - not syncing: NMI: Not continuing", "Hung task: postgres (pid 4242) blocked 600s",
          "Diagnostic interrupt reached the kernel: kdump ran"]
CULPRIT = "37 tasks blocked in percpu_rwsem_wait <- __percpu_down_read <- mnt_want_write (filesystem frozen?)"
_TYPE_PREFIX = {"Pass": "Pass", "Task": "Task", "Wait": "Wait", "Choice": "Choice", "Succeed": "Succeed",
                "Fail": "Fail"}


class HistoryBuilder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.now = STARTED
        self._add("ExecutionStarted", executionStartedEventDetails={
            "input": json.dumps({"instance_id": "i-0123456789abcdef0", "reason": "ssh hangs"}),
            "inputDetails": {"truncated": False},
            "roleArn": "arn:aws:iam::123456789012:role/panic-button-workflow",
        })

    def _add(self, kind: str, **details: Any) -> None:
        previous = self.events[-1]["id"] if self.events else 0
        self.events.append({"timestamp": self.now, "type": kind, "id": len(self.events) + 1,
                            "previousEventId": previous, **details})

    def state(self, kind: str, name: str, *, seconds: float = 1.0, output: dict[str, Any] | None = None,
              exits: bool = True) -> HistoryBuilder:
        prefix = _TYPE_PREFIX[kind]
        self._add(f"{prefix}StateEntered", stateEnteredEventDetails={
            "name": name, "input": "{}", "inputDetails": {"truncated": False}})
        if kind == "Task":
            resource = {"resourceType": "lambda", "resource": "invoke"}
            self._add("TaskScheduled", taskScheduledEventDetails={
                **resource, "region": "us-east-1", "parameters": json.dumps({"FunctionName": name})})
            self._add("TaskStarted", taskStartedEventDetails=resource)
        self.now += timedelta(seconds=seconds)
        if kind == "Task":
            self._add("TaskSucceeded", taskSucceededEventDetails={
                "resourceType": "lambda", "resource": "invoke", "output": json.dumps(output or {}),
                "outputDetails": {"truncated": False}})
        if exits:
            self._add(f"{prefix}StateExited", stateExitedEventDetails={
                "name": name, "output": json.dumps(output or {}), "outputDetails": {"truncated": False}})
        return self

    def succeeded(self, output: dict[str, Any]) -> HistoryBuilder:
        self._add("ExecutionSucceeded", executionSucceededEventDetails={
            "output": json.dumps(output), "outputDetails": {"truncated": False}})
        return self

    def failed(self, error: str, cause: str) -> HistoryBuilder:
        self._add("ExecutionFailed", executionFailedEventDetails={"error": error, "cause": cause})
        return self


def final_state(outcome: str, reason: str, *, with_dump: bool = True) -> dict[str, Any]:
    """The workflow's state document as RecordOutcome leaves it."""
    document: dict[str, Any] = {
        "execution": {"id": "arn:...", "name": "i-0123456789abcdef0-20240501T120000Z"},
        "outcome": {"outcome": outcome, "reason": reason, "failed": outcome == "WORKFLOW_FAILED",
                    "message_id": "m-1"},
    }
    if with_dump:
        document["collection"] = {"artifacts": [{"s3_uri": DUMP_URI, "bytes": 1073741824, "sha256": "ab" * 32,
                                                 "kind": "dump"}], "dump_bytes": 1073741824}
        document["triage"] = {"summary": TRIAGE, "culprit": CULPRIT,
                              "report_uri": "s3://panic-button-evidence/triage.json"}
    return document


def until_recovery_wait() -> HistoryBuilder:
    history = HistoryBuilder().state("Pass", "Begin", seconds=0)
    for name in ("ResolveTarget", "CheckEligibility", "ApplyGuards", "CaptureEvidence", "ConfirmImpaired",
                 "SendInterrupt"):
        history.state("Task", name)
    return history.state("Choice", "InterruptSent?", seconds=0)


def dump_collected_run() -> HistoryBuilder:
    history = until_recovery_wait()
    for status in ("WAITING", "RECOVERED"):
        history.state("Wait", "WaitForRecovery", seconds=30)
        history.state("Task", "CheckRecovery", output={"recovery": {"status": status}})
        history.state("Choice", "RecoveryDone?", seconds=0)
    for name in ("StartLocate", "WaitForLocate", "PollLocate", "LocateDone?", "StartUpload", "WaitForUpload",
                 "PollUpload", "UploadDone?", "CompleteUpload", "TriageDump"):
        history.state("Choice" if name.endswith("?") else "Wait" if name.startswith("Wait") else "Task", name)
    document = final_state("DUMP_COLLECTED", f"crash dump collected and verified: {DUMP_URI} (1073741824 bytes)")
    history.state("Task", "RecordOutcome", output=document).state("Choice", "Outcome?", seconds=0)
    return history.state("Succeed", "Done", seconds=0).succeeded(document)
