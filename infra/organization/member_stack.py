"""The member stack: what every member account x Region holds. It carries no code (no Lambda, no asset), so a
StackSet deploys it from one template: the alarm-state forwarding rule, the documents and the member role."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct
from panic_button.models.collection import ANY_BUCKET

from infra.config import PanicButtonConfig
from infra.constructs.alarm_manager import instance_state_pattern, instance_tag_pattern
from infra.constructs.collector_documents import CollectorDocuments
from infra.constructs.readiness_document import ReadinessDocument
from infra.organization.member_access_role import MemberAccessRole
from infra.organization.names import document_name, hub_bus_arn, hub_region


def managed_alarm_pattern(alarm_name_prefix: str) -> events.EventPattern:
    """Every state change of the managed alarms: the hub starts on ALARM and sees OK for its records."""
    return events.EventPattern(source=["aws.cloudwatch"], detail_type=["CloudWatch Alarm State Change"],
                               detail={"alarmName": [{"prefix": alarm_name_prefix}]})


class PanicButtonMemberStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: PanicButtonConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, description="Panic Button member: forwards rescue alarms to the hub "
                                                          "and lets the hub's steps act on opted-in instances",
                         **kwargs)
        # The hub's bucket has a generated name no member template can know: any bucket, on the S3 endpoint of
        # the hub's Region, whose presigned URLs only the hub's roles can mint.
        documents = CollectorDocuments(self, "CollectorDocuments", bucket_pattern=ANY_BUCKET,
                                       region=hub_region(config), loopback=config.sandbox_collector_urls)
        documents.linux.name = document_name(config, "linux")
        documents.windows.name = document_name(config, "windows")
        readiness = ReadinessDocument(self, "Readiness")
        readiness.document.name = document_name(config, "readiness")
        MemberAccessRole(self, "HubAccess", config=config, document_arns=documents.arns())
        hub_bus = events.EventBus.from_event_bus_arn(self, "HubBus", hub_bus_arn(config))
        # One role for every forwarding target: events:PutEvents on the hub bus and nothing else.
        forwarder = iam.Role(self, "ForwardToHub", assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
                             description="Panic Button: EventBridge forwards this account's events to the hub bus")
        target = targets.EventBus(hub_bus, role=forwarder)
        rules = {
            "AlarmStateRule": ("Panic Button: forward the rescue alarms' state changes to the hub",
                               managed_alarm_pattern(config.alarm_name_prefix), None),
            # The hub's alarm manager keeps each member's alarms through the member role, woken by these.
            "InstanceStateRule": ("Panic Button: forward instance state changes to the hub's alarm manager",
                                  instance_state_pattern(), None),
            "InstanceTagRule": ("Panic Button: forward instance tag changes to the hub's alarm manager",
                                instance_tag_pattern(), None),
            "ReconcileSchedule": ("Panic Button: ask the hub to reconcile this account's rescue alarms", None,
                                  events.Schedule.rate(Duration.minutes(config.reconcile_schedule_minutes))),
        }
        for rule_id, (description, pattern, schedule) in rules.items():
            events.Rule(self, rule_id, description=description, event_pattern=pattern, schedule=schedule,
                        targets=[target])
        CfnOutput(self, "HubRegion", value=hub_region(config), description="Region of the hub this member serves")
        CfnOutput(self, "LinuxCollectorDocument", value=documents.linux.ref,
                  description="SSM document that collects Linux dumps")
