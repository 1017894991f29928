"""Waiting for executions gives up on silence, not on a total: a slow machine is not a stuck run."""

from __future__ import annotations

from typing import Any

import pytest

from panic_button_sandbox.execution_watch import ExecutionsStalled, wait_for_executions

ARN = "arn:aws:states:us-east-1:123456789012:execution:machine:run-1"
OTHER = "arn:aws:states:us-east-1:123456789012:execution:machine:run-2"


class ScriptedExecutions:
    """Step Functions as seen through DescribeExecution and GetExecutionHistory, driven by a virtual clock:
    each execution enters its next state every `pace` seconds and ends after its last one."""

    def __init__(self, states: dict[str, list[str]], pace: float, *, stuck_after: int | None = None) -> None:
        self.now = 0.0
        self._states = states
        self._pace = pace
        self._stuck_after = stuck_after

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def _entered(self, arn: str) -> int:
        entered = min(len(self._states[arn]), int(self.now / self._pace) + 1)
        return entered if self._stuck_after is None else min(entered, self._stuck_after)

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        done = self._stuck_after is None and self.now >= self._pace * len(self._states[executionArn])
        return {"executionArn": executionArn, "status": "SUCCEEDED" if done else "RUNNING"}

    def get_execution_history(self, executionArn: str, maxResults: int) -> dict[str, Any]:
        names = self._states[executionArn][: self._entered(executionArn)]
        return {"events": [{"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": name}}
                           for name in names]}


def test_a_run_slower_than_the_stall_limit_in_total_still_finishes() -> None:
    # Given two executions that take 25 and 12 virtual minutes, but enter a state every 100 s
    states = [f"Step{n}" for n in range(15)]
    scripted = ScriptedExecutions({ARN: states, OTHER: states[:12]}, pace=100.0)
    seen: list[tuple[str, str]] = []

    # When we wait with a 180 s stall limit
    finished = wait_for_executions(scripted, [ARN, OTHER], listener=lambda arn, name, _: seen.append((arn, name)),
                                   stall_seconds=180.0, clock=scripted.clock, sleep=scripted.sleep)

    # Then both finish, and every state was reported once, in order
    assert set(finished) == {ARN, OTHER} and scripted.now > 1400
    assert [name for arn, name in seen if arn == ARN] == states
    assert [name for arn, name in seen if arn == OTHER] == states[:12]


def test_a_run_that_stops_moving_is_reported_with_where_it_stopped() -> None:
    scripted = ScriptedExecutions({ARN: ["Begin", "ResolveTarget", "PollUpload", "Never"]}, pace=1.0, stuck_after=3)

    with pytest.raises(ExecutionsStalled) as stalled:
        wait_for_executions(scripted, [ARN], stall_seconds=60.0, clock=scripted.clock, sleep=scripted.sleep)

    assert "run-1 in PollUpload" in str(stalled.value) and "no progress for 6" in str(stalled.value)
    assert 60 < scripted.now < 70  # it gave up once the silence passed the limit, not earlier


def test_a_run_that_moves_forever_meets_the_safety_net() -> None:
    scripted = ScriptedExecutions({ARN: [f"Poll{n}" for n in range(10_000)]}, pace=5.0)

    with pytest.raises(ExecutionsStalled, match="safety net") as stalled:
        wait_for_executions(scripted, [ARN], stall_seconds=60.0, safety_net_seconds=900.0,
                            clock=scripted.clock, sleep=scripted.sleep)

    assert "run-1 in Poll18" in str(stalled.value)
