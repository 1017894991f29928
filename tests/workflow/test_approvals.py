"""Issue 12 section 4: instances opted in with `approval` wait for a person before the interrupt. The real
state machine in the sandbox, the real handlers, and the operator CLI answering the task token."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from panic_button_cli.main import main
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.instances import InstanceSpec
from panic_button_sandbox.sandbox import Sandbox
from tests.topic_subscriber import Topic
from tests.workflow.execution_control import entered, finish, start, wait_until

Deployed = tuple[Sandbox, Deployment]
CALLER = "arn:aws:sts::123456789012:user/moto"  # what moto's sts:GetCallerIdentity answers


def waiting(deployed: Deployed, topic: Topic) -> tuple[str, str, dict[str, Any]]:
    """A run of an instance tagged approval, waiting in RequestApproval; its approval request message."""
    sandbox, _ = deployed
    instance = sandbox.launch_instance(InstanceSpec(tags={"PanicButton": "approval"}))
    arn = start(deployed, instance.instance_id)
    wait_until(lambda: any("APPROVAL NEEDED" in m["Subject"] for m in topic.messages_about(arn)),
               "the approval request")
    [request] = [m for m in topic.messages_about(arn) if "APPROVAL NEEDED" in m["Subject"]]
    assert sandbox.interrupt_count(instance.instance_id) == 0  # nothing is sent while it waits
    return arn, instance.instance_id, request


def cli(deployed: Deployed, *argv: str) -> int:
    return main([*argv, "--stack", deployed[1].stack_name])


def test_an_approval_interrupts_and_the_record_names_who_approved(deployed: Deployed, topic: Topic,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    sandbox, _ = deployed
    arn, instance_id, request = waiting(deployed, topic)
    assert f"panic-button approve {arn}" in request["Message"]
    assert f"panic-button deny {arn} --reason TEXT" in request["Message"]

    assert cli(deployed, "approve", arn) == 0
    capsys.readouterr()
    assert cli(deployed, "approve", arn) == 2  # at once, while the approved run goes on: refused, nothing sent
    assert f"already decided (approve) by {CALLER}" in capsys.readouterr().err
    execution, record = finish(deployed, arn)

    assert execution["status"] == "SUCCEEDED"
    assert record["outcome"] == "DUMP_COLLECTED"
    assert record["decided_by"] == CALLER and record["decided_at"]
    assert entered(sandbox, arn, "ReconfirmImpaired")  # the approval is re-checked before the interrupt
    assert sandbox.interrupt_count(instance_id) == 1
    outcomes = [m for m in topic.messages_about(arn) if "APPROVAL NEEDED" not in m["Subject"]]
    assert len(outcomes) == 1  # one outcome notification, beside the one request

    # A second approval of the same token is refused in one line that says who decided and when.
    capsys.readouterr()
    assert cli(deployed, "approve", arn) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert f"already decided (approve) by {CALLER} at {record['decided_at']}" in error
    assert sandbox.interrupt_count(instance_id) == 1


def test_a_denial_sends_nothing_and_keeps_the_reason_and_who(deployed: Deployed, topic: Topic) -> None:
    sandbox, _ = deployed
    arn, instance_id, _ = waiting(deployed, topic)

    assert cli(deployed, "deny", arn, "--reason", "primary in a failover drill") == 0
    execution, record = finish(deployed, arn)

    assert execution["status"] == "SUCCEEDED"
    assert record["outcome"] == "DENIED_BY_OPERATOR"
    assert "primary in a failover drill" in record["reason"] and CALLER in record["reason"]
    assert record["decided_by"] == CALLER and record["decided_at"]
    assert sandbox.interrupt_count(instance_id) == 0
    assert "lock_owner" not in sandbox.client("dynamodb").get_item(
        TableName=deployed[1].outputs["TableName"], ConsistentRead=True,
        Key={"pk": {"S": f"INSTANCE#{instance_id}"}, "sk": {"S": "STATE"}})["Item"]


def test_no_decision_in_time_is_denied_by_default(deployed: Deployed, topic: Topic,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    sandbox, _ = deployed
    arn, instance_id, request = waiting(deployed, topic)
    assert "the configuration decides: deny" in request["Message"]

    execution, record = finish(deployed, arn)  # nobody answers: the heartbeat window (15 min, scaled) ends it

    assert execution["status"] == "SUCCEEDED"
    assert record["outcome"] == "APPROVAL_TIMED_OUT"
    assert record["decided_by"] == "timeout" and record["decided_at"]
    assert sandbox.interrupt_count(instance_id) == 0
    # An approval after the wait is refused; the stored decision is withdrawn, not left standing.
    capsys.readouterr()
    assert cli(deployed, "approve", arn) == 2
    assert "no longer waits for a decision" in capsys.readouterr().err


HELD_HEARTBEAT_SECONDS = 45 * 60  # AWS-like seconds; 13.5 s at the tests' time scale


@pytest.fixture
def slow_heartbeat(deployed: Deployed) -> Iterator[None]:
    """A heartbeat window long enough that one slow CLI call on a loaded machine cannot miss it, and a
    timeout past two of them; the deployed definition is restored after."""
    sandbox, deployment = deployed
    stepfunctions = sandbox.client("stepfunctions")
    arn = deployment.outputs["StateMachineArn"]
    definition = stepfunctions.describe_state_machine(stateMachineArn=arn)["definition"]
    changed = json.loads(definition)
    changed["States"]["RequestApproval"].update(HeartbeatSeconds=HELD_HEARTBEAT_SECONDS,
                                                TimeoutSeconds=4 * HELD_HEARTBEAT_SECONDS)
    stepfunctions.update_state_machine(stateMachineArn=arn, definition=json.dumps(changed))
    yield
    stepfunctions.update_state_machine(stateMachineArn=arn, definition=definition)


@pytest.mark.usefixtures("slow_heartbeat")
def test_a_hold_keeps_the_run_waiting_past_the_heartbeat_window(deployed: Deployed, topic: Topic) -> None:
    sandbox, _ = deployed
    arn, instance_id, _ = waiting(deployed, topic)
    window = HELD_HEARTBEAT_SECONDS / sandbox.time_scale
    deadline = time.monotonic() + 2 * window
    holds = 0
    while time.monotonic() < deadline:  # twice the window, held again as soon as each hold returns
        assert cli(deployed, "hold", arn) == 0
        holds += 1
    status = sandbox.client("stepfunctions").describe_execution(executionArn=arn)["status"]
    assert status == "RUNNING" and holds >= 2
    assert cli(deployed, "deny", arn, "--reason", "held, then denied") == 0
    _, record = finish(deployed, arn)
    assert record["outcome"] == "DENIED_BY_OPERATOR"
    assert "held, then denied" in record["reason"]
    assert sandbox.interrupt_count(instance_id) == 0
