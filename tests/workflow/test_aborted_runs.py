"""Executions that end outside the workflow (StopExecution, a Lambda that crashes past every retry, the
workflow timeout) still get their one record and one notification, from the aborted-run recorder that
the real rule pattern wakes on the sandbox's Step Functions Execution Status Change events."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from panic_button_cli.main import main
from panic_button_sandbox.instances import InstanceSpec
from tests.fleet_limits import FLEET_WINDOW
from tests.topic_subscriber import Topic
from tests.workflow.execution_control import Deployed, entered, finish, start, wait_until


def instance_item(deployed: Deployed, instance_id: str) -> dict[str, Any]:
    """The instance's guard item; empty when no run got as far as taking its lock."""
    sandbox, deployment = deployed
    item: dict[str, Any] = sandbox.client("dynamodb").get_item(
        TableName=deployment.outputs["TableName"], ConsistentRead=True,
        Key={"pk": {"S": f"INSTANCE#{instance_id}"}, "sk": {"S": "STATE"}}).get("Item", {})
    return item


def shown_by_follow_and_history(deployed: Deployed, arn: str, instance_id: str,
                                capsys: pytest.CaptureFixture[str]) -> str:
    """The outcome `follow` prints for the execution, once `history` agrees on it."""
    _, deployment = deployed
    capsys.readouterr()
    assert main(["follow", arn, "--stack", deployment.stack_name, "--interval", "0.1"]) == 1
    followed = " ".join(capsys.readouterr().out.split())
    assert main(["history", "--instance", instance_id, "--json", "--stack", deployment.stack_name]) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert f"Outcome {record['outcome']}" in followed
    return str(record["outcome"])


def objects_under(deployed: Deployed, prefix: str) -> list[str]:
    sandbox, deployment = deployed
    listed = sandbox.client("s3").list_objects_v2(Bucket=deployment.outputs["EvidenceBucketName"], Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


def test_a_stop_after_the_interrupt_is_recorded_released_and_notified_once(deployed: Deployed,
                                                                           topic: Topic) -> None:
    sandbox, _ = deployed
    instance = sandbox.launch_instance(InstanceSpec(reboot_seconds=None))  # it never comes back: a long wait
    arn = start(deployed, instance.instance_id)
    wait_until(lambda: entered(sandbox, arn, "CheckRecovery"), "the recovery polls")

    sandbox.client("stepfunctions").stop_execution(executionArn=arn, error="Operator.Stop",
                                                   cause="wrong instance, says the on-call")
    execution, record = finish(deployed, arn)

    assert execution["status"] == "ABORTED"
    assert record["outcome"] == "WORKFLOW_ABORTED"
    assert record["reason"].startswith("stopped from outside (StopExecution)")
    assert "Operator.Stop: wrong instance, says the on-call" in record["reason"]
    assert "the interrupt was sent" in record["reason"] and record["interrupt_sent_at"]
    assert sandbox.interrupt_count(instance.instance_id) == 1
    state = instance_item(deployed, instance.instance_id)
    assert "lock_owner" not in state  # released now, not at its TTL
    assert int(state["last_interrupt_at"]["N"]) > 0  # the cooldown holds
    [message] = topic.messages_about(arn)
    assert message["Subject"].startswith(f"[Panic Button] WORKFLOW_ABORTED {instance.instance_id}")
    assert record["notified"] is True and record["message_id"] == message["MessageId"]


def test_a_stop_while_locating_the_dump_leaves_no_manifest(deployed: Deployed, topic: Topic) -> None:
    sandbox, _ = deployed
    instance = sandbox.launch_instance(InstanceSpec())
    arn = start(deployed, instance.instance_id)
    wait_until(lambda: entered(sandbox, arn, "AwaitLocate"), "the locate command")

    sandbox.client("stepfunctions").stop_execution(executionArn=arn)
    execution, record = finish(deployed, arn)

    assert (execution["status"], record["outcome"]) == ("ABORTED", "WORKFLOW_ABORTED")
    prefix = f"remediations/{instance.instance_id}/{arn.rsplit(':', 1)[-1]}/"
    assert [key for key in objects_under(deployed, prefix) if key.endswith(".manifest")] == []
    assert "lock_owner" not in instance_item(deployed, instance.instance_id)
    assert len(topic.messages_about(arn)) == 1


def test_a_stop_while_uploading_aborts_the_upload_and_deletes_the_manifests(deployed: Deployed,
                                                                            topic: Topic) -> None:
    sandbox, deployment = deployed
    instance = sandbox.launch_instance(InstanceSpec(dump_bytes=32 * 1024 * 1024))
    arn = start(deployed, instance.instance_id)
    wait_until(lambda: entered(sandbox, arn, "AwaitUpload"), "the upload command")

    sandbox.client("stepfunctions").stop_execution(executionArn=arn)
    _, record = finish(deployed, arn)

    assert record["outcome"] == "WORKFLOW_ABORTED"
    # The recorder cleans up as AbandonCollection does: cancel, abort, purge; every step succeeded
    assert "could not" not in record["reason"], record["reason"]
    assert re.search(r"the upload command (was cancelled|had already ended)", record["reason"]), record["reason"]
    assert "the multipart upload was aborted" in record["reason"]
    assert re.search(r"upload\.manifest deleted \(\d+ versions?\)", record["reason"]), record["reason"]
    prefix = f"remediations/{instance.instance_id}/{arn.rsplit(':', 1)[-1]}/"
    uploads = sandbox.client("s3").list_multipart_uploads(Bucket=deployment.outputs["EvidenceBucketName"],
                                                          Prefix=prefix)
    assert uploads.get("Uploads", []) == []
    assert [key for key in objects_under(deployed, prefix) if key.endswith(".manifest")] == []
    assert len(topic.messages_about(arn)) == 1


def test_a_run_stopped_before_the_interrupt_gives_back_its_rate_slot(deployed: Deployed, topic: Topic) -> None:
    sandbox, deployment = deployed
    # Opted in with approval: the run passes the guards (its rate slot taken), then holds for a person,
    # a stop point before the interrupt that no scheduling can race past.
    instance = sandbox.launch_instance(InstanceSpec(tags={"PanicButton": "approval"}))
    arn = start(deployed, instance.instance_id, {"instance_id": instance.instance_id, "reason": "early stop"})
    wait_until(lambda: entered(sandbox, arn, "RequestApproval"), "the approval wait")

    sandbox.client("stepfunctions").stop_execution(executionArn=arn)
    _, record = finish(deployed, arn)

    assert record["outcome"] == "WORKFLOW_ABORTED" and "no interrupt was sent" in record["reason"]
    assert sandbox.interrupt_count(instance.instance_id) == 0
    state = instance_item(deployed, instance.instance_id)
    assert "lock_owner" not in state and "last_interrupt_at" not in state  # no cooldown: it may run again
    window = sandbox.client("dynamodb").get_item(TableName=deployment.outputs["TableName"], ConsistentRead=True,
                                                 Key=FLEET_WINDOW)
    assert all(instance.instance_id not in slot["S"] for slot in window.get("Item", {}).get("slots", {}).get("L", []))
    subjects = [message["Subject"] for message in topic.messages_about(arn)]
    assert len(subjects) == 2 and sum("APPROVAL NEEDED" in subject for subject in subjects) == 1  # one outcome


@pytest.fixture
def broken_record_step(deployed: Deployed) -> Iterator[None]:
    """RecordOutcome crashes on every attempt (its table is gone, as far as it can tell); restored after."""
    sandbox, deployment = deployed
    [function] = [f for f in deployment.functions if f.handler.endswith("handle_record_outcome.lambda_handler")]
    lambdas = sandbox.client("lambda")
    environment = lambdas.get_function_configuration(FunctionName=function.function_name)["Environment"]
    broken = {**environment["Variables"], "TABLE_NAME": "no-such-table"}
    lambdas.update_function_configuration(FunctionName=function.function_name, Environment={"Variables": broken})
    yield
    lambdas.update_function_configuration(FunctionName=function.function_name, Environment=environment)


@pytest.mark.usefixtures("broken_record_step")
def test_a_record_step_that_crashes_past_every_retry_is_recorded_as_workflow_failed(
        deployed: Deployed, topic: Topic, capsys: pytest.CaptureFixture[str]) -> None:
    sandbox, _ = deployed
    instance = sandbox.launch_instance(InstanceSpec(impaired=False))  # locked, then found healthy: a quick run
    arn = start(deployed, instance.instance_id)

    execution, record = finish(deployed, arn)

    assert (execution["status"], execution["error"]) == ("FAILED", "RecordFailed")
    assert record["outcome"] == "WORKFLOW_FAILED"
    assert record["reason"].startswith("RecordFailed in RecordFailed: The outcome could not be recorded")
    assert "the record step was to record SKIPPED_ALREADY_HEALTHY" in record["reason"]
    state = instance_item(deployed, instance.instance_id)
    assert "lock_owner" not in state and "last_interrupt_at" not in state
    # NotifyRecordFailure already told the topic: the recorder takes the flag and sends nothing more.
    [message] = topic.messages_about(arn)
    assert message["Subject"] == "[Panic Button] WORKFLOW_FAILED: outcome could not be recorded"
    assert record["notified"] is True and "message_id" not in record
    assert shown_by_follow_and_history(deployed, arn, instance.instance_id, capsys) == "WORKFLOW_FAILED"


@pytest.fixture
def two_second_workflow_timeout(deployed: Deployed) -> Iterator[None]:
    """moto honours TimeoutSeconds in real seconds; the deployed 230 min would outlast any test."""
    sandbox, deployment = deployed
    stepfunctions = sandbox.client("stepfunctions")
    arn = deployment.outputs["StateMachineArn"]
    definition = stepfunctions.describe_state_machine(stateMachineArn=arn)["definition"]
    shortened = {**json.loads(definition), "TimeoutSeconds": 2}
    stepfunctions.update_state_machine(stateMachineArn=arn, definition=json.dumps(shortened))
    yield
    stepfunctions.update_state_machine(stateMachineArn=arn, definition=definition)


@pytest.mark.usefixtures("two_second_workflow_timeout")
def test_a_run_past_the_workflow_timeout_is_recorded_with_states_timeout(
        deployed: Deployed, topic: Topic, capsys: pytest.CaptureFixture[str]) -> None:
    sandbox, _ = deployed
    instance = sandbox.launch_instance(InstanceSpec(reboot_seconds=None))  # recovery polls outlast 2 s

    arn = start(deployed, instance.instance_id)
    execution, record = finish(deployed, arn)

    assert execution["status"] == "TIMED_OUT"
    assert record["outcome"] == "WORKFLOW_FAILED"
    # The deployed timeout is what the record names, not the test's shortened one.
    assert record["reason"].startswith("States.Timeout: the execution ran past the workflow timeout (230 min)")
    interrupted = sandbox.interrupt_count(instance.instance_id) == 1
    assert bool(record.get("interrupt_sent_at")) == interrupted or "may have gone out" in record["reason"]
    state = instance_item(deployed, instance.instance_id)  # a loaded machine may time out before the lock
    assert "lock_owner" not in state
    assert ("last_interrupt_at" in state) == (interrupted or "may have gone out" in record["reason"])
    assert len(topic.messages_about(execution["executionArn"])) == 1
    assert shown_by_follow_and_history(deployed, arn, instance.instance_id, capsys) == "WORKFLOW_FAILED"


def test_follow_and_history_show_a_stopped_run(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    sandbox, deployment = deployed
    instance = sandbox.launch_instance(InstanceSpec(reboot_seconds=None))
    arn = start(deployed, instance.instance_id)
    wait_until(lambda: entered(sandbox, arn, "CheckRecovery"), "the recovery polls")
    sandbox.client("stepfunctions").stop_execution(executionArn=arn, cause="maintenance window")
    sandbox.wait_for_execution(arn)
    capsys.readouterr()

    # No wait for the recorder here: follow itself waits for the record the history cannot hold.
    assert main(["follow", arn, "--stack", deployment.stack_name, "--interval", "0.1"]) == 1
    followed = capsys.readouterr()
    shown = " ".join(followed.out.split())  # the console wraps long reasons
    assert "WORKFLOW_ABORTED" in shown and "stopped from outside (StopExecution)" in shown
    assert "maintenance window" in shown
    assert "without an outcome" not in followed.err

    assert main(["history", "--instance", instance.instance_id, "--json", "--stack", deployment.stack_name]) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert record["outcome"] == "WORKFLOW_ABORTED" and record["interrupt_sent_at"]
    assert main(["history", "--instance", instance.instance_id, "--stack", deployment.stack_name]) == 0
    assert "WORKFLOW_ABORTED" in capsys.readouterr().out


