"""The IAM action and resource a botocore call is authorized as, where they differ from its names."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from panic_button_sandbox.iam.emulator_state import EmulatorState
from panic_button_sandbox.iam.operations import Call, authorization_for

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:machine:run-1"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:machine"


def call(service: str, operation: str, **params: object) -> Call:
    return Call(service=service, operation=operation, params=params, account="123456789012", region="us-east-1",
                secure_transport=True)


@pytest.mark.parametrize(("operation", "params", "action", "resource"), [
    ("GetExecutionHistory", {"executionArn": EXECUTION}, "states:GetExecutionHistory", EXECUTION),
    ("DescribeExecution", {"executionArn": EXECUTION}, "states:DescribeExecution", EXECUTION),
    ("StartExecution", {"stateMachineArn": MACHINE}, "states:StartExecution", MACHINE),
])
def test_step_functions_calls_are_states_actions_on_the_execution_or_machine(
        operation: str, params: dict[str, object], action: str, resource: str) -> None:
    [access] = authorization_for(call("stepfunctions", operation, **params), state=None).accesses  # type: ignore[arg-type]
    assert (access.action, access.resource) == (action, resource)


def test_an_unmapped_step_functions_call_still_uses_the_iam_prefix() -> None:
    [access] = authorization_for(call("stepfunctions", "ListStateMachines"), state=None).accesses  # type: ignore[arg-type]
    assert (access.action, access.resource) == ("states:ListStateMachines", "*")


@pytest.mark.parametrize(("params", "expected"), [
    ({"IfNoneMatch": "*"}, {"s3:if-none-match": ["*"]}),
    ({"IfMatch": '"etag"'}, {"s3:if-match": ['"etag"']}),
    ({}, {}),
])
def test_a_conditional_write_gives_policies_its_header_as_a_condition_key(
        params: dict[str, object], expected: dict[str, list[str]]) -> None:
    # What lets a policy allow only creates (Null s3:if-none-match false): the spend-write-once grant.
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="evidence-bucket")
        state = EmulatorState("123456789012", "us-east-1")
        [access] = authorization_for(call("s3", "PutObject", Bucket="evidence-bucket", Key="k", **params),
                                     state).accesses
    conditional = {name: values for name, values in access.context.items() if name.startswith("s3:if-")}
    assert (access.action, conditional) == ("s3:PutObject", expected)
