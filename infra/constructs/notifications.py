"""The outcome topic: one message per remediation, KMS-encrypted, optional email subscriptions."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct


class Notifications(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey, emails: tuple[str, ...]) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Outcomes", display_name="Panic Button outcomes", master_key=key,
                               enforce_ssl=True)
        # The topic policy replaces SNS's default one, which let the account's services publish: the operations
        # alarms' actions (cloudwatch.amazonaws.com) need their own Allow, limited to this account's alarms.
        alarms = Stack.of(self).format_arn(service="cloudwatch", resource="alarm", resource_name="*",
                                           arn_format=ArnFormat.COLON_RESOURCE_NAME)
        self.topic.add_to_resource_policy(iam.PolicyStatement(
            sid="AllowAlarmActions", principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["sns:Publish"], resources=[self.topic.topic_arn],
            conditions={"ArnLike": {"aws:SourceArn": alarms}},
        ))
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
