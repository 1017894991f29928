"""Read the synthesized template the way a reviewer does: intrinsics rendered as text, policies as statements.

`render` turns `{"Fn::GetAtt": ["Bucket", "Arn"]}` into `${Bucket.Arn}` and `{"Ref": "AWS::Region"}` into
`${AWS::Region}`, so an ARN reads `arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

Resources = dict[str, dict[str, Any]]

# Where CloudFormation resources keep IAM policy documents (identity, resource and trust policies).
_POLICY_KEYS = ("PolicyDocument", "KeyPolicy")


def render(value: Any) -> str:
    """Text of a CloudFormation value; fails on an intrinsic it cannot read rather than guessing."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (function, argument), = value.items()
        if function == "Ref":
            return f"${{{argument}}}"
        if function == "Fn::GetAtt":
            return f"${{{argument[0]}.{argument[1]}}}"
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(render(part) for part in parts)
    raise ValueError(f"cannot render {value!r}")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def ref_id(value: Any) -> str:
    """Logical ID behind `{"Ref": id}` or `{"Fn::GetAtt": [id, attribute]}`."""
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    raise ValueError(f"not a reference: {value!r}")


def state_machine_definition(state_machine: dict[str, Any]) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(render(state_machine["Properties"]["DefinitionString"]))
    return definition


@dataclass(frozen=True)
class Statement:
    """One policy statement and where it lives."""

    owner: str  # logical ID of the resource that holds the policy
    owner_type: str
    body: dict[str, Any]

    @property
    def allows(self) -> bool:
        return bool(self.body.get("Effect") == "Allow")

    @property
    def actions(self) -> list[str]:
        return [str(action) for action in as_list(self.body.get("Action", []))]

    @property
    def resources(self) -> list[str]:
        return [render(resource) for resource in as_list(self.body.get("Resource", []))]

    @property
    def conditions(self) -> dict[str, Any]:
        return dict(self.body.get("Condition", {}))

    def covers(self, action: str) -> bool:
        """Whether one of the statement's action patterns matches `action` (IAM is case-insensitive)."""
        return any(fnmatchcase(action.lower(), pattern.lower()) for pattern in self.actions)


def policy_statements(resources: Resources) -> Iterator[Statement]:
    """Every statement of every policy document in the template, whatever resource holds it."""
    for logical_id, resource in resources.items():
        properties = resource.get("Properties", {})
        documents = [properties[key] for key in _POLICY_KEYS if key in properties]
        documents += [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
        for document in documents:
            for body in as_list(document.get("Statement", [])):
                yield Statement(owner=logical_id, owner_type=resource["Type"], body=body)


def roles_granted(resources: Resources) -> dict[str, list[Statement]]:
    """Identity-policy Allow statements per role logical ID (inline role policies and AWS::IAM::Policy)."""
    granted: dict[str, list[Statement]] = {}
    for statement in policy_statements(resources):
        if not statement.allows:
            continue
        if statement.owner_type == "AWS::IAM::Role":
            granted.setdefault(statement.owner, []).append(statement)
        elif statement.owner_type == "AWS::IAM::Policy":
            for role in resources[statement.owner]["Properties"].get("Roles", []):
                granted.setdefault(ref_id(role), []).append(statement)
    return granted


def function_by_handler(resources: Resources, handler_module: str) -> str:
    """Logical ID of the one Lambda whose handler is `panic_button.handlers.<handler_module>.lambda_handler`."""
    handler = f"panic_button.handlers.{handler_module}.lambda_handler"
    matches = [logical_id for logical_id, resource in of_type(resources, "AWS::Lambda::Function").items()
               if resource["Properties"].get("Handler") == handler]
    assert len(matches) == 1, f"expected one function with handler {handler}, found {matches}"
    return matches[0]


def role_of(resources: Resources, function_id: str) -> str:
    return ref_id(resources[function_id]["Properties"]["Role"])


def of_type(resources: Resources, resource_type: str) -> Resources:
    return {logical_id: resource for logical_id, resource in resources.items() if resource["Type"] == resource_type}


def output_ref(template_json: dict[str, Any], output: str) -> str:
    """Logical ID an output points at: the outputs name what operators use, so tests find resources by them."""
    return ref_id(template_json["Outputs"][output]["Value"])
