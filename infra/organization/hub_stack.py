"""The organization hub: the single-account stack (workflow, bucket, table, topic, dashboard, analysis), plus
the bus the members forward to, fixed names on the step roles the member role trusts, their AssumeRole grants,
and the StackSet that deploys the member stack."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import IN_REGION, PanicButtonConfig
from infra.constructs.alarm_trigger import AlarmTrigger
from infra.constructs.step_function import StepFunction
from infra.organization.hub_bus import HubBus
from infra.organization.member_stack_set import MemberStackSet
from infra.organization.names import ALARM_MANAGER_STEP, CROSS_ACCOUNT_STEPS, hub_role_name, member_role_name
from infra.stack import PanicButtonStack
from infra.suppressions import accept_parliament_finding


class PanicButtonHubStack(PanicButtonStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: PanicButtonConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, config=config, **kwargs)
        bus = HubBus(self, "Hub", config=config, alarm_manager=self.alarm_manager.function)
        self.org_trigger = AlarmTrigger(self, "OrganizationTrigger", alarm_name_prefix=config.alarm_name_prefix,
                                        state_machine=self.workflow.state_machine, key=self.key, event_bus=bus.bus)
        steps = {step.node.id: step for step in self.steps.all()}
        for name in CROSS_ACCOUNT_STEPS:
            self._reach_members(steps[name], name, config)
        self._reach_members(self.alarm_manager.step, ALARM_MANAGER_STEP, config)
        # The alarm manager keeps the members' alarms through their member roles (handle_manage_alarms.member_of).
        self.alarm_manager.function.add_environment("MEMBER_ROLE_PREFIX", member_role_name(config, ""))
        self.stack_set = MemberStackSet(self, "StackSet", config=config)

    def _reach_members(self, step: StepFunction, name: str, config: PanicButtonConfig) -> None:
        # A fixed name: the member role trusts this role by ARN, and the member template is built without a lookup.
        role = step.role.node.default_child
        assert isinstance(role, iam.CfnRole)
        role.role_name = hub_role_name(config, name)
        # In-Region hubs reach their own Region's member roles; a central hub reaches every member Region's.
        regions = [Aws.REGION] if config.hub_regions == IN_REGION else list(config.member_regions)
        member_roles = [f"arn:{Aws.PARTITION}:iam::*:role/{member_role_name(config, region)}" for region in regions]
        step.allow(["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"], member_roles,
                   {"StringEquals": {"aws:ResourceOrgID": config.organization_id}},
                   wildcard_reason="The member role of any account, but only of this organization "
                                   "(aws:ResourceOrgID condition); the account is known only from the alarm")
        accept_parliament_finding(step.role, "CREDENTIALS_EXPOSURE", ["sts:AssumeRole"],
                                  "The step works in the member account through the member role's session; only "
                                  "that role name, only in this organization, and the session carries the execution "
                                  "name as its source identity")
