"""The hub's event bus: the member accounts forward their rescue alarms and instance events to it. Its policy
admits the organization's principals and nothing else."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import PanicButtonConfig
from infra.constructs.alarm_manager import instance_state_pattern, instance_tag_pattern
from infra.organization.names import hub_bus_name


def member_schedule_pattern() -> events.EventPattern:
    """A member's reconcile schedule, forwarded: it still says source aws.events and names the member account."""
    return events.EventPattern(source=["aws.events"], detail_type=["Scheduled Event"])


class HubBus(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: PanicButtonConfig,
                 alarm_manager: lambda_.IFunction) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=hub_bus_name(config),
                                   description="Panic Button hub: member accounts' rescue alarms and instance events")
        # A policy resource of its own, not add_to_resource_policy: CDK prefixes that Sid with "cdk-", which is not
        # a valid IAM Sid (alphanumerics only).
        self.policy = events.CfnEventBusPolicy(self, "OrganizationPutEvents", event_bus_name=self.bus.event_bus_name,
                                               statement_id="OrganizationPutEvents", statement={
            "Sid": "OrganizationPutEvents", "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents",
            "Resource": self.bus.event_bus_arn,
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": config.organization_id}},
        })
        target = targets.LambdaFunction(alarm_manager, retry_attempts=4, max_event_age=Duration.hours(1))
        rules = {"MemberInstanceStateRule": instance_state_pattern(), "MemberInstanceTagRule": instance_tag_pattern(),
                 "MemberReconcileRule": member_schedule_pattern()}
        for rule_id, pattern in rules.items():
            events.Rule(self, rule_id, event_bus=self.bus, event_pattern=pattern, targets=[target],
                        description="Panic Button hub: a member's instance or schedule event to the alarm manager")
