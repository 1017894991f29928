"""The EventBridge rule that starts the workflow when an opted-in instance's status-check alarm fires."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.nag import acknowledge


def alarm_event_pattern(alarm_name_prefix: str) -> events.EventPattern:
    return events.EventPattern(
        source=["aws.cloudwatch"],
        detail_type=["CloudWatch Alarm State Change"],
        detail={
            "alarmName": [{"prefix": alarm_name_prefix}],
            "state": {"value": ["ALARM"]},
        },
    )


class AlarmTrigger(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, alarm_name_prefix: str,
                 state_machine: sfn.IStateMachine, key: kms.IKey, event_bus: events.IEventBus | None = None) -> None:
        super().__init__(scope, construct_id)
        # Events that EventBridge could not deliver (after its retries) land here instead of vanishing.
        self.dead_letters = sqs.Queue(
            self, "DeadLetters", encryption=sqs.QueueEncryption.KMS, encryption_master_key=key,
            enforce_ssl=True, retention_period=Duration.days(14),
        )
        acknowledge(self.dead_letters, "AwsSolutions-SQS3", "This queue is itself the dead-letter queue of the "
                                                             "alarm rule's target.")
        # Only this account's rules may use the key to reach the dead-letter queue.
        rules = Stack.of(self).format_arn(service="events", resource="rule", resource_name="*")
        key.grant(iam.ServicePrincipal("events.amazonaws.com", conditions={"ArnLike": {"aws:SourceArn": rules}}),
                  "kms:Decrypt", "kms:GenerateDataKey")
        self.rule = events.Rule(
            self, "AlarmRule",
            description=f"Start Panic Button when an alarm named {alarm_name_prefix}* goes to ALARM",
            event_pattern=alarm_event_pattern(alarm_name_prefix),
            event_bus=event_bus,  # None: the account's default bus; the organization hub passes its own
        )
        self.rule.add_target(targets.SfnStateMachine(
            state_machine,
            dead_letter_queue=self.dead_letters,
            retry_attempts=8,
            max_event_age=Duration.hours(2),
        ))
