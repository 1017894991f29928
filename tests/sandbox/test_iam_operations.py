"""The IAM action and resource a botocore call is authorized as, where they differ from its names."""

from __future__ import annotations

import pytest

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
