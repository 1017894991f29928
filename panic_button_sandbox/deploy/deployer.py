"""Deploy a synthesized CDK template (cdk.out/<Stack>.template.json) into the sandbox's moto.

A small resolver of our own creates each resource through the AWS API, in dependency order, so the
state machine definition, rule patterns and function environments all come from the template.
"""

from __future__ import annotations

import graphlib
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from panic_button_sandbox.deploy import compute_resources as compute
from panic_button_sandbox.deploy import storage_resources as storage
from panic_button_sandbox.deploy.context import Created, StackContext
from panic_button_sandbox.deploy.intrinsics import Resolver, TemplateError, references
from panic_button_sandbox.deploy.model import DeployedResource, Deployment, SkippedResource
from panic_button_sandbox.server import ACCOUNT_ID, REGION

Creator = Callable[[StackContext, str, dict[str, Any]], Created]

CREATORS: dict[str, Creator] = {
    "AWS::KMS::Key": storage.kms_key,
    "AWS::KMS::Alias": storage.kms_alias,
    "AWS::S3::Bucket": storage.s3_bucket,
    "AWS::S3::BucketPolicy": storage.s3_bucket_policy,
    "AWS::DynamoDB::Table": storage.dynamodb_table,
    "AWS::SQS::Queue": storage.sqs_queue,
    "AWS::SQS::QueuePolicy": storage.sqs_queue_policy,
    "AWS::SNS::Topic": storage.sns_topic,
    "AWS::SNS::Subscription": storage.sns_subscription,
    "AWS::SNS::TopicPolicy": storage.sns_topic_policy,
    "AWS::SSM::Document": storage.ssm_document,
    "AWS::SSM::Parameter": storage.ssm_parameter,
    "AWS::Logs::LogGroup": storage.log_group,
    "AWS::IAM::Role": compute.iam_role,
    "AWS::IAM::Policy": compute.iam_policy,
    "AWS::IAM::ManagedPolicy": compute.iam_managed_policy,
    "AWS::Lambda::Function": compute.lambda_function,
    "AWS::Lambda::Permission": compute.lambda_permission,
    "AWS::StepFunctions::StateMachine": compute.state_machine,
    "AWS::Events::Rule": compute.events_rule,
    "AWS::Events::EventBus": compute.event_bus,
    "AWS::CloudWatch::Alarm": compute.cloudwatch_alarm,
    "AWS::CloudWatch::Dashboard": compute.cloudwatch_dashboard,
}


class DeploymentError(RuntimeError):
    """A resource could not be created; the message names it."""


def deploy(
    template_path: Path,
    assets_dir: Path,
    client: Callable[[str], Any],
    stack_name: str | None = None,
) -> Deployment:
    """Create the template's resources with `client(service)`; the stack name defaults to the file's."""
    template = json.loads(template_path.read_text())
    name = stack_name or template_path.name.removesuffix(".template.json")
    ctx = StackContext(stack_name=name, region=REGION, account_id=ACCOUNT_ID, assets_dir=assets_dir, client=client)
    created: dict[str, DeployedResource] = {}
    skipped: dict[str, SkippedResource] = {}
    resources: dict[str, dict[str, Any]] = template.get("Resources", {})

    def ref(logical_id: str) -> Any:
        if logical_id in created:
            return created[logical_id].physical_id
        if logical_id in skipped:
            return f"{name}-{logical_id}"  # Ref of a skipped resource: a name, as CloudFormation would give
        raise TemplateError(f"Ref to unknown or not-yet-created {logical_id!r}")

    def get_att(logical_id: str, attribute: str) -> Any:
        if logical_id in created and attribute in created[logical_id].attributes:
            return created[logical_id].attributes[attribute]
        kind = resources.get(logical_id, {}).get("Type", "unknown")
        raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute} ({kind}) is not available in the sandbox")

    resolver = Resolver(template, _pseudo_parameters(name), ref, get_att)
    active = {
        logical_id: resource
        for logical_id, resource in resources.items()
        if "Condition" not in resource or resolver.condition(resource["Condition"])
    }
    for logical_id in _creation_order(active):
        resource = active[logical_id]
        kind = resource["Type"]
        creator = CREATORS.get(kind)
        if creator is None:
            skipped[logical_id] = SkippedResource(logical_id=logical_id, type=kind)
            continue
        try:
            properties = resolver.resolve(resource.get("Properties", {}))
            result = creator(ctx, logical_id, properties)
        except Exception as error:
            raise DeploymentError(f"{name}: cannot create {logical_id} ({kind}): {error}") from error
        created[logical_id] = DeployedResource(
            logical_id=logical_id, type=kind, physical_id=result.physical_id, attributes=result.attributes
        )
    outputs = {
        key: str(resolver.resolve(output["Value"]))
        for key, output in template.get("Outputs", {}).items()
        if "Condition" not in output or resolver.condition(output["Condition"])
    }
    return Deployment(
        stack_name=name,
        resources=created,
        outputs=outputs,
        skipped=list(skipped.values()),
        notes=ctx.notes,
        functions=ctx.functions,
        bucket_policies=ctx.bucket_policies,
        access_logs=ctx.access_logs,
    )


def _creation_order(resources: dict[str, dict[str, Any]]) -> list[str]:
    graph: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        depends_on = resource.get("DependsOn", [])
        needed = references(resource.get("Properties", {})) | set(
            [depends_on] if isinstance(depends_on, str) else depends_on
        )
        graph[logical_id] = {other for other in needed if other in resources}
    return list(graphlib.TopologicalSorter(graph).static_order())


def _pseudo_parameters(stack_name: str) -> dict[str, Any]:
    return {
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": stack_name,
        "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{stack_name}/{uuid.uuid4()}",
        "AWS::NotificationARNs": [],
    }
