"""RecordOutcome notifies exactly once whatever its DynamoDB writes answer: the claim that takes the right to
notify, and the message ID written after the publish, each fail in the sandbox as a real table can fail them
(a 500 after the write went through)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto.core.exceptions import JsonRESTError
from moto.dynamodb.responses import DynamoHandler
from panic_button.aws import RETRY_CONFIG

from panic_button_cli.simulation import find_record
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.instances import InstanceSpec
from panic_button_sandbox.patches import Patches
from panic_button_sandbox.sandbox import Sandbox
from tests.topic_subscriber import Topic

Deployed = tuple[Sandbox, Deployment]
SDK_ATTEMPTS = RETRY_CONFIG.retries["total_max_attempts"]  # what one Lambda attempt's boto3 client tries
_CLAIM = "notify_claimed_at"  # in the UpdateExpression of the claim (dal/record_store.py)
_MESSAGE_ID = "message_id = :id"  # in the one that keeps the message ID


class _ServerError(JsonRESTError):
    code = 500  # a transient server error: the SDK retries it, then the step fails and Step Functions retries


@pytest.fixture
def failing_update(deployed: Deployed) -> Iterator[Callable[[str, int, bool], list[str]]]:
    """`fail(marker, tries, applied)`: the next `tries` UpdateItem calls whose expression holds `marker` answer
    500, after the table applied them when `applied`. Returns the sort keys of the calls it failed."""
    patches = Patches()

    def fail(marker: str, tries: int, applied: bool) -> list[str]:
        failed: list[str] = []
        stock = DynamoHandler.update_item

        def update_item(self: DynamoHandler) -> Any:
            if marker in (self._get_param("UpdateExpression") or "") and len(failed) < tries:
                failed.append(self._get_param("Key")["sk"]["S"])
                if applied:  # the table took the write (or refused its condition); its answer is lost
                    with contextlib.suppress(Exception):
                        stock(self)
                raise _ServerError("InternalServerError", f"injected on {marker}")
            return stock(self)

        patches.replace(DynamoHandler, "update_item", update_item)
        return failed

    yield fail
    patches.undo_all()


def _healthy_run(deployed: Deployed) -> tuple[str, dict[str, Any]]:
    """A quick run (SKIPPED_ALREADY_HEALTHY): its execution ARN and its one record."""
    sandbox, deployment = deployed
    instance = sandbox.launch_instance(InstanceSpec(impaired=False))
    arn: str = sandbox.client("stepfunctions").start_execution(
        stateMachineArn=deployment.outputs["StateMachineArn"], name=f"{instance.instance_id}-{time.time_ns() % 10**9}",
        input=json.dumps({"instance_id": instance.instance_id, "reason": "one-notification test"}))["executionArn"]
    execution = sandbox.wait_for_execution(arn)
    assert execution["status"] == "SUCCEEDED"
    record = find_record(sandbox, deployment.outputs["TableName"], arn.rsplit(":", 1)[-1])
    assert record is not None and record["outcome"] == "SKIPPED_ALREADY_HEALTHY"
    return arn, record


# One try: the SDK's retry of the claim must not read the claim its own first try took as someone else's.
# Every try: that Lambda attempt published nothing, so it gives the claim back and the step's retry notifies.
@pytest.mark.parametrize("tries", [1, SDK_ATTEMPTS], ids=["one-sdk-try", "every-sdk-try"])
def test_a_claim_that_went_through_but_answered_500_still_notifies_once(
        deployed: Deployed, topic: Topic, failing_update: Callable[[str, int, bool], list[str]], tries: int) -> None:
    failed = failing_update(_CLAIM, tries, True)
    arn, record = _healthy_run(deployed)

    assert len(failed) == tries
    [message] = topic.messages_about(arn)
    assert record["notified"] is True and record["message_id"] == message["MessageId"]


def test_record_outcome_retried_after_its_publish_does_not_notify_twice(
        deployed: Deployed, topic: Topic, failing_update: Callable[[str, int, bool], list[str]]) -> None:
    # The first attempt published, then lost every try of its message ID write; the retry finds the claim.
    failed = failing_update(_MESSAGE_ID, SDK_ATTEMPTS, False)
    arn, record = _healthy_run(deployed)

    assert len(failed) == SDK_ATTEMPTS
    assert len(topic.messages_about(arn)) == 1
    assert record["notified"] is True and "message_id" not in record
