"""checkov skips and parliament acceptances, written as CloudFormation Metadata on the resource they
concern. Each call sits next to the code that defines that resource or grant, and
tests/infrastructure reads them back from the template (and refuses a vague reason).

checkov reads `Metadata.checkov.skip` itself. parliament has no suppression mechanism, so
`Metadata.parliament.accept` is this project's: a finding id, the IAM actions of the statement it is
about, and why it is accepted."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnResource
from aws_cdk import aws_iam as iam
from constructs import IConstruct

CHECKOV_METADATA = "checkov"
PARLIAMENT_METADATA = "parliament"


def skip_checkov(construct: IConstruct, check_id: str, reason: str) -> None:
    """Skip one checkov check on the CloudFormation resource behind `construct`."""
    _append(_cfn_resource(construct), CHECKOV_METADATA, "skip", {"id": check_id, "comment": reason})


def accept_parliament_finding(construct: IConstruct, finding: str, actions: list[str], reason: str) -> None:
    """Accept one parliament finding on the policy of `construct` (a role means its default policy),
    for the statement granting `actions`."""
    _append(_cfn_resource(construct), PARLIAMENT_METADATA, "accept",
            {"id": finding, "actions": actions, "reason": reason})


def _cfn_resource(construct: IConstruct) -> CfnResource:
    # A role's grants land in its DefaultPolicy (an AWS::IAM::Policy), not in the role resource.
    if isinstance(construct, iam.Role):
        policy = construct.node.try_find_child("DefaultPolicy")
        if policy is None:
            raise ValueError(f"{construct.node.path} has no grants yet: accept a finding after the grant")
        construct = policy
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise ValueError(f"{construct.node.path} is not backed by one CloudFormation resource")
    return resource


def _append(resource: CfnResource, tool: str, kind: str, entry: dict[str, Any]) -> None:
    existing: dict[str, list[dict[str, Any]]] = resource.get_metadata(tool) or {kind: []}
    resource.add_metadata(tool, {kind: [*existing[kind], entry]})
