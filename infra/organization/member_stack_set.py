"""The StackSet that deploys the member stack to every account of the target OUs, in every member Region:
service-managed permissions (no per-account administration role) and automatic deployment, so an account that
joins a target OU gets its member stacks and one that leaves loses them."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import Aws, CfnCondition, Fn
from aws_cdk import aws_cloudformation as cloudformation
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from infra.config import PanicButtonConfig
from infra.organization.member_stack import PanicButtonMemberStack

STAGING = Path(".cache") / "member-template"


def member_stack_id(config: PanicButtonConfig) -> str:
    return f"{config.stack_name}-Member"


def member_template(config: PanicButtonConfig, context: dict[str, object]) -> Path:
    """The member stack's template as a file, for the StackSet's template asset (synthesized in an app of its own:
    an asset needs its file when it is defined, before the outer app synthesizes)."""
    with tempfile.TemporaryDirectory() as outdir:
        app = cdk.App(outdir=outdir, context=context)
        # The id of the app's own member stack: the two templates are then the same, construct paths included.
        stack = PanicButtonMemberStack(app, member_stack_id(config), config=config)
        text = json.dumps(app.synth().get_stack_by_name(stack.stack_name).template, indent=1, sort_keys=True)
    STAGING.mkdir(parents=True, exist_ok=True)
    path = STAGING / f"member-{hashlib.sha256(text.encode()).hexdigest()[:16]}.template.json"
    path.write_text(text, encoding="utf-8")
    return path


class MemberStackSet(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: PanicButtonConfig) -> None:
        super().__init__(scope, construct_id)
        context = {key: value for key, value in self.node.get_all_context().items() if not key.startswith("aws:cdk")}
        self.template = s3_assets.Asset(self, "MemberTemplate", path=str(member_template(config, context)))
        # Each Region's hub deploys this stack; only one of them may own the StackSet.
        self.owner_region = CfnCondition(self, "OwnsStackSet",
                                         expression=Fn.condition_equals(Aws.REGION, config.stackset_region))
        self.stack_set = cloudformation.CfnStackSet(
            self, "Members", stack_set_name=f"{config.stack_name}-Members", permission_model="SERVICE_MANAGED",
            description="Panic Button member stacks: alarm forwarding, documents and the hub access role",
            call_as=config.stackset_call_as, capabilities=["CAPABILITY_NAMED_IAM"],
            auto_deployment=cloudformation.CfnStackSet.AutoDeploymentProperty(
                enabled=True, retain_stacks_on_account_removal=False),
            managed_execution={"Active": True},
            operation_preferences=cloudformation.CfnStackSet.OperationPreferencesProperty(
                failure_tolerance_percentage=10, max_concurrent_percentage=25, region_concurrency_type="PARALLEL"),
            stack_instances_group=[cloudformation.CfnStackSet.StackInstancesProperty(
                deployment_targets=cloudformation.CfnStackSet.DeploymentTargetsProperty(
                    organizational_unit_ids=list(config.target_ous)),
                regions=list(config.member_regions))],
            template_url=self.template.http_url,
        )
        self.stack_set.cfn_options.condition = self.owner_region
