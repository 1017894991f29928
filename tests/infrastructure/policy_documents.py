"""Every IAM policy document of the template, resolved to plausible ARNs, with the parliament acceptances
that infra/suppressions.py wrote next to it.

Identity policies: AWS::IAM::Policy, AWS::IAM::ManagedPolicy and a role's inline Policies. Resource
policies: bucket, topic and queue policies, key policies, and each AWS::Lambda::Permission written out
as the statement Lambda adds to the function's policy. Trust policies are left out: parliament's
statement model requires a Resource, which a trust policy has none of (test_stack_functions checks who
may assume each role)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plausible_arns import Resources, get_att, ref, resolve

from infra.suppressions import PARLIAMENT_METADATA

IDENTITY_POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
RESOURCE_POLICY_TYPES = ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy")


@dataclass(frozen=True)
class Acceptance:
    finding: str
    actions: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class PolicyDocument:
    owner: str  # logical ID of the resource that holds (or, for a Lambda permission, is) the policy
    owner_type: str
    document: dict[str, Any]
    acceptances: tuple[Acceptance, ...] = field(default=())


def policy_documents(resources: Resources) -> list[PolicyDocument]:
    documents: list[PolicyDocument] = []
    for logical_id, resource in resources.items():
        resource_type, properties = resource["Type"], resource.get("Properties", {})
        raw: list[dict[str, Any]] = []
        if resource_type in (*IDENTITY_POLICY_TYPES, *RESOURCE_POLICY_TYPES):
            raw.append(properties["PolicyDocument"])
        elif resource_type == "AWS::IAM::Role":
            raw += [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
        elif resource_type == "AWS::KMS::Key":
            raw.append(_key_policy(logical_id, properties["KeyPolicy"], resources))
        elif resource_type == "AWS::Lambda::Permission":
            raw.append(_lambda_permission_policy(properties, resources))
        acceptances = _acceptances(resource)
        documents += [PolicyDocument(logical_id, resource_type, resolve(document, resources), acceptances)
                      for document in raw]
    return documents


def _key_policy(logical_id: str, policy: dict[str, Any], resources: Resources) -> dict[str, Any]:
    # In a key policy, Resource "*" means the key itself: say so, and parliament checks each action
    # against the key resource type instead of reporting a wildcard.
    key_arn = get_att(logical_id, "Arn", resources)
    statements = [{**statement, "Resource": key_arn} if statement.get("Resource") == "*" else statement
                  for statement in _as_list(policy["Statement"])]
    return {**policy, "Statement": statements}


def _lambda_permission_policy(properties: dict[str, Any], resources: Resources) -> dict[str, Any]:
    """The function-policy statement Lambda writes for one AddPermission call."""
    function = str(resolve(properties["FunctionName"], resources))
    if not function.startswith("arn:"):  # FunctionName may be a name as well as an ARN
        function = (f"arn:{ref('AWS::Partition', resources)}:lambda:{ref('AWS::Region', resources)}:"
                    f"{ref('AWS::AccountId', resources)}:function:{function}")
    principal = properties["Principal"]
    statement: dict[str, Any] = {
        "Effect": "Allow", "Action": properties["Action"], "Resource": function,
        "Principal": {"Service": principal} if str(principal).endswith(".amazonaws.com") else {"AWS": principal},
    }
    conditions: dict[str, dict[str, Any]] = {}
    if "SourceArn" in properties:
        conditions["ArnLike"] = {"AWS:SourceArn": properties["SourceArn"]}
    if "SourceAccount" in properties:
        conditions["StringEquals"] = {"AWS:SourceAccount": properties["SourceAccount"]}
    if conditions:
        statement["Condition"] = conditions
    return {"Version": "2012-10-17", "Statement": [statement]}


def _acceptances(resource: dict[str, Any]) -> tuple[Acceptance, ...]:
    entries = resource.get("Metadata", {}).get(PARLIAMENT_METADATA, {}).get("accept", [])
    return tuple(Acceptance(entry["id"], tuple(entry["actions"]), entry["reason"]) for entry in entries)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
