"""The sandbox's Lambda concurrency quota: past it a synchronous invocation is answered as Lambda answers
(429 TooManyRequestsException), and Step Functions sees the error by the name its Retry matches."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from panic_button_sandbox import Deployment, Sandbox


@pytest.fixture
def no_concurrency(sandbox: Sandbox) -> Iterator[Sandbox]:
    sandbox.limit_lambda_concurrency(0)
    yield sandbox
    sandbox.limit_lambda_concurrency(None)


def test_a_synchronous_invocation_past_the_quota_is_throttled(no_concurrency: Sandbox, deployment: Deployment) -> None:
    before = no_concurrency.lambda_throttles
    with pytest.raises(ClientError) as raised:
        no_concurrency.client("lambda").invoke(FunctionName=deployment.outputs["DescribeFunctionName"], Payload="{}")

    assert raised.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert no_concurrency.lambda_throttles > before


def test_the_workflow_sees_the_throttle_as_lambda_too_many_requests(no_concurrency: Sandbox,
                                                                    deployment: Deployment) -> None:
    stepfunctions = no_concurrency.client("stepfunctions")
    execution_arn = stepfunctions.start_execution(stateMachineArn=deployment.outputs["StateMachineArn"],
                                                  input=json.dumps({"instanceId": "i-0abc"}))["executionArn"]

    execution = no_concurrency.wait_for_execution(execution_arn)

    assert execution["status"] == "FAILED"
    assert execution["error"] == "Lambda.TooManyRequestsException"

