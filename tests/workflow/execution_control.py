"""Driving one sandbox execution from a test: start it, wait for a state, stop it, read its ending and record.
Shared by the tests of executions that end outside the workflow, of approvals and of leaked URLs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from panic_button_cli.simulation import find_record
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.sandbox import Sandbox

Deployed = tuple[Sandbox, Deployment]
_PATIENCE_SECONDS = 120.0  # a wait for a state gives up only far past any run on a loaded machine


def start(deployed: Deployed, instance_id: str, body: dict[str, Any] | None = None) -> str:
    sandbox, deployment = deployed
    arn: str = sandbox.client("stepfunctions").start_execution(
        stateMachineArn=deployment.outputs["StateMachineArn"], name=f"{instance_id}-{time.time_ns() % 10**9}",
        input=json.dumps(body or {"instance_id": instance_id, "reason": "aborted-run test"}))["executionArn"]
    return arn


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + _PATIENCE_SECONDS
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def entered(sandbox: Sandbox, arn: str, state: str) -> bool:
    events = sandbox.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return any(e.get("stateEnteredEventDetails", {}).get("name") == state for e in events)


def finish(deployed: Deployed, arn: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ended execution and its one record, once the recorder (an asynchronous invoke) has run."""
    sandbox, deployment = deployed
    execution = sandbox.wait_for_execution(arn)
    sandbox.wait_for_async_invocations()
    record = find_record(sandbox, deployment.outputs["TableName"], arn.rsplit(":", 1)[-1])
    assert record is not None, f"{arn} ended {execution['status']} without a record"
    return execution, record
