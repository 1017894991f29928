"""Event-driven completion of the collector commands: the Await step's token in the table, and the resume
on SSM's command-end event (logic/command_wait.py). DynamoDB is moto; SSM and Step Functions answers are
scripted with Stubbers, and the test checks what is sent back to Step Functions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.stub import Stubber
from panic_button.dal.command_waits import CommandWaitStore
from panic_button.errors import CommandEnded
from panic_button.logic.command_wait import resume_waiter, wait_for_command
from panic_button.models.events import CommandInvocationDetail, CommandInvocationStatusChange
from panic_button.models.state import CommandRef

from .support import INSTANCE, NOW, TABLE_NAME, aws_client, client_error

COMMAND = "1c1e2f3a-0000-4000-8000-00000000c0de"
REF = CommandRef(phase="upload", command_id=COMMAND, document="PanicButton-CollectDump-Linux", sent_at=NOW)


def ended(status: str = "Success") -> CommandInvocationDetail:
    return CommandInvocationDetail.model_validate({"command-id": COMMAND, "instance-id": INSTANCE,
                                                   "document-name": REF.document, "status": status})


@pytest.fixture
def store(dynamodb: Any) -> CommandWaitStore:
    return CommandWaitStore(dynamodb, TABLE_NAME)


@pytest.fixture
def ssm() -> Iterator[Stubber]:
    with Stubber(aws_client("ssm")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def sfn() -> Iterator[Stubber]:
    with Stubber(aws_client("stepfunctions")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def invocation(stubber: Stubber, status: str, stderr: str = "") -> None:
    stubber.add_response("get_command_invocation",
                         {"Status": status, "StandardOutputContent": '{"status": "uploaded"}',
                          "StandardErrorContent": stderr, "StatusDetails": status},
                         {"CommandId": COMMAND, "InstanceId": INSTANCE})


def resume(store: CommandWaitStore, detail: CommandInvocationDetail) -> str:
    return resume_waiter(aws_client("ssm"), aws_client("stepfunctions"), store, detail, max_polls=120,
                         now=NOW + timedelta(seconds=40))


def test_the_end_resumes_the_waiting_task_with_what_a_poll_gives(store: CommandWaitStore, ssm: Stubber,
                                                                  sfn: Stubber) -> None:
    # Given the Await step left its token
    wait_for_command(store, REF, instance_id=INSTANCE, task_token="token-1", now=NOW)
    # When the command's end event arrives
    invocation(ssm, "Success")
    done = REF.model_copy(update={"attempt": 1, "done": True, "status": "Success"})
    sfn.add_response("send_task_success", {}, {"taskToken": "token-1", "output": done.model_dump_json()})
    # Then the task is completed with the done CommandRef, as PollUpload would have written it
    assert resume(store, ended()) == "resumed: done"


def test_a_failed_command_fails_the_task_as_collection_failed(store: CommandWaitStore, ssm: Stubber,
                                                              sfn: Stubber) -> None:
    wait_for_command(store, REF, instance_id=INSTANCE, task_token="token-1", now=NOW)
    invocation(ssm, "Failed", stderr="curl: (22) The requested URL returned error: 403\n")
    message = f"the upload command ended Failed on {INSTANCE}: curl: (22) The requested URL returned error: 403"
    sfn.add_response("send_task_failure", {}, {
        "taskToken": "token-1", "error": "CollectionFailed",
        "cause": json.dumps({"errorMessage": message, "errorType": "CollectionFailed"})})
    assert resume(store, ended("Failed")) == "resumed: CollectionFailed"


def test_a_command_that_ended_before_the_wait_is_polled_instead(store: CommandWaitStore, ssm: Stubber,
                                                                sfn: Stubber) -> None:
    # Given the end event came before any token (nothing is sent: no stubbed response is used)
    assert resume(store, ended()).startswith("no task waits for it yet")
    # Then the Await step fails with CommandEnded, which the workflow routes to its poll
    with pytest.raises(CommandEnded, match="ended before its wait began"):
        wait_for_command(store, REF, instance_id=INSTANCE, task_token="token-1", now=NOW)


def test_a_repeated_event_completes_the_task_once(store: CommandWaitStore, ssm: Stubber, sfn: Stubber) -> None:
    wait_for_command(store, REF, instance_id=INSTANCE, task_token="token-1", now=NOW)
    invocation(ssm, "Success")
    sfn.add_response("send_task_success", {})
    assert resume(store, ended()) == "resumed: done"
    assert resume(store, ended()).startswith("no task waits for it yet")


def test_a_second_wait_replaces_the_token_of_a_timed_out_one(store: CommandWaitStore, ssm: Stubber,
                                                             sfn: Stubber) -> None:
    # Given the first wait timed out into the fallback poll (attempt 1), and the workflow waits again
    wait_for_command(store, REF, instance_id=INSTANCE, task_token="token-1", now=NOW)
    polled_once = REF.model_copy(update={"attempt": 1})
    wait_for_command(store, polled_once, instance_id=INSTANCE, task_token="token-2", now=NOW)
    # Then the end completes the second task, counting on from the poll that ran
    invocation(ssm, "Success")
    done = polled_once.model_copy(update={"attempt": 2, "done": True, "status": "Success"})
    sfn.add_response("send_task_success", {}, {"taskToken": "token-2", "output": done.model_dump_json()})
    assert resume(store, ended()) == "resumed: done"


def test_a_task_that_no_longer_waits_is_no_error(store: CommandWaitStore, ssm: Stubber, sfn: Stubber) -> None:
    # Given the Await step timed out (into its fallback poll) just before the event came
    wait_for_command(store, REF, instance_id=INSTANCE, task_token="token-1", now=NOW)
    invocation(ssm, "Success")
    client_error(sfn, "send_task_success", "TaskTimedOut")
    # Then the resume says so and does not fail (a failure would retry and end in the DLQ for nothing)
    assert resume(store, ended()).startswith("the task no longer waits (TaskTimedOut)")


def test_a_status_that_is_no_end_changes_nothing(store: CommandWaitStore, ssm: Stubber, sfn: Stubber) -> None:
    wait_for_command(store, REF, instance_id=INSTANCE, task_token="token-1", now=NOW)
    assert resume(store, ended("InProgress")) == "status InProgress is not an end"
    invocation(ssm, "Success")
    sfn.add_response("send_task_success", {})
    assert resume(store, ended()) == "resumed: done"  # the wait is still there for the real end


def test_the_event_model_reads_ssm_s_documented_shape() -> None:
    event = {"version": "0", "id": "4780e1b8-f56b-4de5-95f2-95db9a5d2d0b",
             "detail-type": "EC2 Command Invocation Status-change Notification", "source": "aws.ssm",
             "account": "123456789012", "time": "2026-11-20T03:13:32Z", "region": "us-east-1",
             "resources": [f"arn:aws:ec2:us-east-1:123456789012:instance/{INSTANCE}"],
             "detail": {"command-id": COMMAND, "document-name": REF.document, "instance-id": INSTANCE,
                        "requested-date-time": "2026-11-20T03:13:30.049Z", "status": "Success"}}
    change = CommandInvocationStatusChange.model_validate(event)
    assert (change.detail.command_id, change.detail.instance_id, change.detail.status) == (COMMAND, INSTANCE,
                                                                                           "Success")
