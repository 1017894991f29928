"""The sandbox's Step Functions Execution Status Change events: emitted when an execution ends ABORTED,
TIMED_OUT or FAILED, shaped as AWS documents them, put on the default bus so only matching rules see them."""

from __future__ import annotations

import json
import time
from typing import Any

from panic_button_sandbox import Sandbox

WAIT_THEN_END = {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 30, "Next": "End"},
                                               "End": {"Type": "Succeed"}}}
FAILING = {"StartAt": "Break", "States": {"Break": {"Type": "Fail", "Error": "Canary.Broken", "Cause": "on purpose"}}}


class Listener:
    """An SQS queue behind a rule that matches every Step Functions event."""

    def __init__(self, sandbox: Sandbox, name: str) -> None:
        self._sqs, events = sandbox.client("sqs"), sandbox.client("events")
        self.url = self._sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventPattern=json.dumps({"source": ["aws.states"]}))
        events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])

    def received(self) -> list[dict[str, Any]]:
        messages = self._sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]


def _run(sandbox: Sandbox, name: str, definition: dict[str, Any], *, stop: bool = False) -> str:
    stepfunctions = sandbox.client("stepfunctions")
    machine = stepfunctions.create_state_machine(name=name, definition=json.dumps(definition),
                                                 roleArn="arn:aws:iam::123456789012:role/events")["stateMachineArn"]
    arn: str = stepfunctions.start_execution(stateMachineArn=machine, name=f"{name}-run",
                                             input='{"why": "test"}')["executionArn"]
    if stop:
        stepfunctions.stop_execution(executionArn=arn, error="Test.Stop", cause="stopped by the test")
    sandbox.wait_for_execution(arn)
    time.sleep(0.2)  # the event is put as the execution ends, on its own thread
    return arn


def test_a_stopped_execution_emits_one_documented_aborted_event(sandbox: Sandbox) -> None:
    listener = Listener(sandbox, "status-aborted")

    arn = _run(sandbox, "events-aborted", WAIT_THEN_END, stop=True)

    [event] = listener.received()
    assert (event["source"], event["detail-type"], event["resources"]) == (
        "aws.states", "Step Functions Execution Status Change", [arn])
    detail = event["detail"]
    assert {k: detail[k] for k in ("executionArn", "name", "status", "input", "error", "cause")} == {
        "executionArn": arn, "name": arn.rsplit(":", 1)[-1], "status": "ABORTED", "input": '{"why": "test"}',
        "error": None, "cause": None}  # StopExecution's caller and reason are in the history, not the event
    assert detail["stateMachineArn"].endswith(":stateMachine:events-aborted")
    assert isinstance(detail["startDate"], int) and detail["stopDate"] >= detail["startDate"]
    assert detail["inputDetails"] == {"included": True}
    history = sandbox.client("stepfunctions").get_execution_history(executionArn=arn)["events"]
    [aborted] = [e["executionAbortedEventDetails"] for e in history if e["type"] == "ExecutionAborted"]
    assert (aborted["error"], aborted["cause"]) == ("Test.Stop", "stopped by the test")


def test_a_failed_execution_carries_its_error_and_a_succeeded_one_emits_nothing(sandbox: Sandbox) -> None:
    listener = Listener(sandbox, "status-failed")

    _run(sandbox, "events-failed", FAILING)
    _run(sandbox, "events-succeeded", {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})

    [event] = listener.received()
    assert (event["detail"]["status"], event["detail"]["error"], event["detail"]["cause"]) == (
        "FAILED", "Canary.Broken", "on purpose")
