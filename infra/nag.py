"""cdk-nag (AwsSolutions) acknowledgements. cdk-nag v3 wants each finding acknowledged on its own,
named exactly as it reports it (e.g. `AwsSolutions-IAM5[Resource::<LogicalId.Arn>:*]`); these helpers
compute that name from the CDK value so every acknowledgement sits next to the grant it explains."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


def nag_form(stack: Stack, value: str) -> str:
    """How cdk-nag prints a (possibly tokenized) IAM resource."""
    return _flatten(stack.resolve(value))


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))


def acknowledge_wildcard_resource(construct: IConstruct, resource: str, reason: str) -> None:
    stack = Stack.of(construct)
    acknowledge(construct, f"AwsSolutions-IAM5[Resource::{nag_form(stack, resource)}]", reason)


def _flatten(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            return f"<{logical_id}.{attribute}>"
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(_flatten(part) for part in parts)
    raise ValueError(f"cannot name this IAM resource for cdk-nag: {value!r}")
