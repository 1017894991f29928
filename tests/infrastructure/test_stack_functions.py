"""Every Lambda of the stack: latest Python, traced, JSON logs, Powertools, and a role of its own."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from aws_cdk import aws_lambda
from stack_template import Resources, of_type, ref_id, roles_granted


@pytest.fixture(scope="module")
def functions(resources: Resources) -> dict[str, dict[str, Any]]:
    found = {logical_id: f["Properties"] for logical_id, f in of_type(resources, "AWS::Lambda::Function").items()}
    assert found, "the stack has no Lambda functions"
    return found


def _newest_python_runtime() -> str:
    """The newest Python runtime the pinned aws-cdk-lib knows: a CDK upgrade that adds one fails this test."""
    runtimes: list[str] = [getattr(aws_lambda.Runtime, name).name for name in dir(aws_lambda.Runtime)
                           if re.fullmatch(r"PYTHON_3_\d+", name)]
    return max(runtimes, key=lambda runtime: int(runtime.removeprefix("python3.")))


def test_every_function_runs_the_latest_python(functions: dict[str, dict[str, Any]]) -> None:
    assert _newest_python_runtime() == "python3.14"
    assert {logical_id: props["Runtime"] for logical_id, props in functions.items()
            if props["Runtime"] != "python3.14"} == {}


def test_every_function_traces_with_xray_and_logs_json(functions: dict[str, dict[str, Any]]) -> None:
    for logical_id, props in functions.items():
        assert props.get("TracingConfig") == {"Mode": "Active"}, logical_id
        assert props.get("LoggingConfig", {}).get("LogFormat") == "JSON", logical_id


def test_every_function_has_the_stacks_dependencies_layer_matching_its_runtime(
        functions: dict[str, dict[str, Any]], resources: Resources) -> None:
    layers = of_type(resources, "AWS::Lambda::LayerVersion")
    [(layer_id, layer)] = layers.items()  # one layer of the stack's own, no published ARN
    for logical_id, props in functions.items():
        assert [ref_id(layer) for layer in props.get("Layers", [])] == [layer_id], logical_id
        assert props["Runtime"] in layer["Properties"]["CompatibleRuntimes"], logical_id
        assert props.get("Architectures", ["x86_64"]) == layer["Properties"]["CompatibleArchitectures"], logical_id


def test_no_two_functions_share_a_role(functions: dict[str, dict[str, Any]], resources: Resources) -> None:
    roles = Counter(ref_id(props["Role"]) for props in functions.values())
    assert [role for role, users in roles.items() if users > 1] == []
    for role in roles:
        trust = resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert [statement["Principal"] for statement in trust] == [{"Service": "lambda.amazonaws.com"}], role


def test_no_role_uses_managed_policies(resources: Resources) -> None:
    # AWSLambdaBasicExecutionRole would let each function write to any log group of the account.
    with_managed = {logical_id: role["Properties"]["ManagedPolicyArns"]
                    for logical_id, role in of_type(resources, "AWS::IAM::Role").items()
                    if role["Properties"].get("ManagedPolicyArns")}
    assert with_managed == {}
    assert of_type(resources, "AWS::IAM::ManagedPolicy") == {}


def test_each_function_writes_only_to_its_own_log_group(
        functions: dict[str, dict[str, Any]], resources: Resources) -> None:
    granted = roles_granted(resources)
    for logical_id, props in functions.items():
        log_group = ref_id(props["LoggingConfig"]["LogGroup"])
        own = {f"${{{log_group}.Arn}}", f"${{{log_group}.Arn}}:*"}
        log_grants = [statement for statement in granted.get(ref_id(props["Role"]), [])
                      if any(action.startswith("logs:") for action in statement.actions)]
        assert log_grants, f"{logical_id} cannot write its logs"
        for statement in log_grants:
            assert set(statement.resources) <= own, f"{logical_id}: {statement.body}"
