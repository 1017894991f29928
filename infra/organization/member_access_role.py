"""The one role in a member account that the hub's steps assume. It trusts the hub's step roles by ARN, only
for sessions that carry a source identity (the execution name, which CloudTrail in the member account then shows
on every call) and the execution session tag; it holds what the steps do in the member account, no more."""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import PanicButtonConfig
from infra.nag import acknowledge_wildcard_resource
from infra.organization.names import hub_role_arns, member_role_name
from infra.suppressions import accept_parliament_finding

EXECUTION_TAG = "panic-button:execution"
_NO_RESOURCE_LEVEL = ("ec2:DescribeInstances, ec2:DescribeInstanceTypes, ec2:DescribeInstanceStatus, "
                      "ssm:DescribeInstanceInformation and ssm:GetCommandInvocation support no resource-level "
                      "permissions; ssm:CancelCommand names a command ID, which has no ARN, and only stops commands")


def trust_policy(config: PanicButtonConfig) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "HubStepRolesWithTheExecutionName",
        "Effect": "Allow",
        "Principal": {"AWS": hub_role_arns(config)},
        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
        "Condition": {
            # Present, not merely allowed: a session without the execution name is refused.
            "StringLike": {"sts:SourceIdentity": "*", f"aws:RequestTag/{EXECUTION_TAG}": "*"},
            "ForAllValues:StringEquals": {"aws:TagKeys": [EXECUTION_TAG]},
        },
    }]}


class MemberAccessRole(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: PanicButtonConfig,
                 document_arns: list[str]) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.role = iam.Role(self, "Role", role_name=member_role_name(config),
                             assumed_by=iam.AccountPrincipal(config.hub_account),
                             description="Panic Button: assumed by the hub's steps to rescue this account's "
                                         "opted-in instances")
        cfn_role = self.role.node.default_child
        assert isinstance(cfn_role, iam.CfnRole)
        cfn_role.assume_role_policy_document = trust_policy(config)
        instances = stack.format_arn(service="ec2", resource="instance", resource_name="*")
        tag = {"StringEquals": {f"aws:ResourceTag/{config.opt_in_tag_key}": config.opt_in_tag_value}}
        on_instances = ["ec2:SendDiagnosticInterrupt", "ec2:GetConsoleOutput", "ec2:GetConsoleScreenshot",
                        *(["ec2:RebootInstances"] if config.not_recovered_fallback == "reboot" else [])]
        self._allow("OptedInInstances", on_instances, [instances], tag)
        self._allow("CollectorDocuments", ["ssm:SendCommand"], document_arns)
        self._allow("OptedInManagedInstances", ["ssm:SendCommand"], [instances],
                    {"StringEquals": {f"ssm:resourceTag/{config.opt_in_tag_key}": config.opt_in_tag_value}})
        accept_parliament_finding(self.role, "RESOURCE_MISMATCH", ["ssm:SendCommand"],
                                  "parliament checks each statement alone and wants the document resource in the "
                                  "instance statement; the member documents are granted in the statement above")
        self._allow("Reads", ["ec2:DescribeInstances", "ec2:DescribeInstanceTypes", "ec2:DescribeInstanceStatus",
                              "ssm:DescribeInstanceInformation", "ssm:GetCommandInvocation", "ssm:CancelCommand",
                              "ssm:ListCommandInvocations"],
                    ["*"])
        acknowledge_wildcard_resource(self.role, "*", _NO_RESOURCE_LEVEL + ".")
        acknowledge_wildcard_resource(
            self.role, instances, f"Any instance of this account and Region, but only while it carries the opt-in "
                                  f"tag {config.opt_in_tag_key}={config.opt_in_tag_value} (resource tag condition)")
        # The hub's alarm manager keeps the rescue alarms here; writes only to alarms named with the prefix.
        managed_alarms = (f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:"
                          f"{config.alarm_name_prefix}*")
        self._allow("ManagedAlarms", ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms",
                                      "cloudwatch:TagResource", "cloudwatch:UntagResource",
                                      "cloudwatch:ListTagsForResource"], [managed_alarms])
        acknowledge_wildcard_resource(self.role, managed_alarms,
                                      f"Alarm names are <prefix><instance-id>-<Name tag>, known only at run time; "
                                      f"writes are limited to alarms named {config.alarm_name_prefix}*")
        any_alarm = stack.format_arn(service="cloudwatch", resource="alarm", resource_name="*",
                                     arn_format=ArnFormat.COLON_RESOURCE_NAME)
        self._allow("AnyAlarmRead", ["cloudwatch:DescribeAlarms"], [any_alarm])
        acknowledge_wildcard_resource(self.role, any_alarm,
                                      "cloudwatch:DescribeAlarms must read alarms of any name to find reboot and "
                                      "recover actions that race the rescue (read-only)")

    def _allow(self, sid: str, actions: list[str], resources: list[str],
               conditions: dict[str, dict[str, str]] | None = None) -> None:
        self.role.add_to_policy(iam.PolicyStatement(sid=sid, actions=actions, resources=resources,
                                                    conditions=conditions))
