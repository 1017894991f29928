"""Waiting for executions in the sandbox: give up when nothing moves, never because the machine is slow.

On a loaded 2-core machine a run can take several times longer than on an idle one, so a fixed total
budget fails good runs. What a stuck run shows instead is silence: no new history event in any execution
that is still running. The total limit that stays is a safety net far above any normal run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# No pending execution wrote a history event for this long: something is stuck. The slowest single step
# in the sandbox (verifying a 300 MiB dump under load) takes well under a tenth of it.
STALL_SECONDS = 180.0
# A whole run (the demo's five instances, a real-kernel rescue under TCG) takes 30-90 s; this only stops
# a run that keeps moving forever.
SAFETY_NET_SECONDS = 1800.0
_POLL_SECONDS = 0.1

StateListener = Callable[[str, str, float], None]  # (execution ARN, state name, seconds since start)


class ExecutionsStalled(TimeoutError):
    """The executions still running made no progress (or ran past the safety net); the message says which."""


@dataclass
class _Progress:
    moved_at: float
    events: int = 0
    states_reported: int = 0
    state: str = "not started"
    entered_states: list[str] = field(default_factory=list)


def wait_for_executions(
    stepfunctions: Any,
    arns: list[str],
    *,
    listener: StateListener | None = None,
    stall_seconds: float = STALL_SECONDS,
    safety_net_seconds: float = SAFETY_NET_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, dict[str, Any]]:
    """DescribeExecution of each execution once it has left RUNNING, reporting each state as it is entered."""
    started = clock()
    progress = {arn: _Progress(moved_at=started) for arn in dict.fromkeys(arns)}
    finished: dict[str, dict[str, Any]] = {}
    while True:
        for arn in [arn for arn in progress if arn not in finished]:
            execution: dict[str, Any] = stepfunctions.describe_execution(executionArn=arn)
            # History after the status, so a finished execution's last states are never missed.
            moved = _read_history(stepfunctions, arn, progress[arn])
            if moved:
                progress[arn].moved_at = clock()
                _report(arn, progress[arn], progress[arn].moved_at - started, listener)
            if execution["status"] != "RUNNING":
                finished[arn] = execution
        pending = {arn: progress[arn] for arn in progress if arn not in finished}
        if not pending:
            return finished
        now = clock()
        quiet_for = now - max(entry.moved_at for entry in pending.values())
        if quiet_for > stall_seconds:
            raise ExecutionsStalled(f"no progress for {quiet_for:.0f} s: {_describe(pending, now)}")
        if now - started > safety_net_seconds:
            raise ExecutionsStalled(f"still running after the {safety_net_seconds:.0f} s safety net: "
                                    f"{_describe(pending, now)}")
        sleep(_POLL_SECONDS)


def _read_history(stepfunctions: Any, arn: str, entry: _Progress) -> bool:
    """Take in the execution's history; True when it has grown since the last look."""
    events = stepfunctions.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    if len(events) <= entry.events:
        return False
    entry.events = len(events)
    entry.entered_states = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    if entry.entered_states:
        entry.state = entry.entered_states[-1]
    return True


def _report(arn: str, entry: _Progress, elapsed: float, listener: StateListener | None) -> None:
    if listener is not None:
        for name in entry.entered_states[entry.states_reported:]:
            listener(arn, name, elapsed)
    entry.states_reported = len(entry.entered_states)


def _describe(pending: dict[str, _Progress], now: float) -> str:
    return "; ".join(f"{arn.rsplit(':', 1)[-1]} in {entry.state} (last event {now - entry.moved_at:.0f} s ago)"
                     for arn, entry in sorted(pending.items()))
