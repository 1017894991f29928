"""Event-driven completion of the collector commands: an EventBridge rule on SSM Run Command's "EC2 Command
Invocation Status-change Notification" for this stack's collector documents when an invocation ends, and the
small Lambda that resumes the workflow Task waiting for that command (its token is stored by command ID).
Events it cannot deliver land in its own dead-letter queue, whose alarm tells the topic; a lost event only
costs the waiting Task's timeout, after which the workflow polls."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.step_function import SharedFunctionProps, StepFunction
from infra.constructs.workflow_steps import grant_table_key
from infra.nag import acknowledge

COMMAND_INVOCATION_CHANGE = "EC2 Command Invocation Status-change Notification"
# Run Command's end states (lambdas/panic_button/logic/command_wait.py ENDED_STATUSES): InProgress and the
# like resume nothing, so they never invoke the function.
ENDED_STATUSES = ["Success", "Failed", "Cancelled", "TimedOut", "DeliveryTimedOut", "ExecutionTimedOut",
                  "Undeliverable", "Terminated", "InvalidPlatform", "AccessDenied"]


def command_end_pattern(document_names: list[str]) -> events.EventPattern:
    return events.EventPattern(source=["aws.ssm"], detail_type=[COMMAND_INVOCATION_CHANGE],
                               detail={"document-name": document_names, "status": ENDED_STATUSES})


class CommandCompletion(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, shared: SharedFunctionProps,
                 table: dynamodb.ITable, topic: sns.ITopic, key: kms.IKey, document_names: list[str]) -> None:
        super().__init__(scope, construct_id)
        self.step = StepFunction(self, "ResumeCommandWait", step="resume_command_wait",
                                 description="resume the workflow when a collector command ends",
                                 shared=shared, timeout=Duration.seconds(30))
        self.function = self.step.function
        step = self.step
        step.allow(["dynamodb:UpdateItem"], [table.table_arn])
        grant_table_key(step, key)
        # The poll that turns the end into the same CommandRef PollCommand returns (the event has no output).
        step.allow(["ssm:GetCommandInvocation"], ["*"],
                   wildcard_reason="ssm:GetCommandInvocation supports no resource-level permissions (AWS service "
                                   "authorization reference)")
        step.allow(["states:SendTaskSuccess", "states:SendTaskFailure"], ["*"],
                   wildcard_reason="states:SendTaskSuccess and states:SendTaskFailure support no resource-level "
                                   "permissions (AWS service authorization reference); the task token names the "
                                   "one task, and only this stack's workflow hands its tokens to the table")
        self.dead_letters = sqs.Queue(self, "DeadLetters", encryption=sqs.QueueEncryption.KMS,
                                      encryption_master_key=key, enforce_ssl=True,
                                      retention_period=Duration.days(14))
        acknowledge(self.dead_letters, "AwsSolutions-SQS3", "This queue is itself the dead-letter queue of the "
                                                             "command-end rule's target.")
        self.rule = events.Rule(self, "CommandEndRule",
                                description="Panic Button: resume the workflow when a collector command ends",
                                event_pattern=command_end_pattern(document_names))
        # A late resume is worth nothing after the Task's own timeout: retry briefly, then the DLQ.
        self.rule.add_target(targets.LambdaFunction(self.function, dead_letter_queue=self.dead_letters,
                                                    retry_attempts=4, max_event_age=Duration.hours(1)))
        # EventBridge invokes asynchronously: an event the function itself failed on lands in the same queue.
        # L1, because SqsDestination would grant the key's wildcard actions; the exact grant is below.
        lambda_.CfnEventInvokeConfig(
            self, "AsyncFailures", function_name=self.function.function_name, qualifier="$LATEST",
            maximum_retry_attempts=2, maximum_event_age_in_seconds=3600,
            destination_config=lambda_.CfnEventInvokeConfig.DestinationConfigProperty(
                on_failure=lambda_.CfnEventInvokeConfig.OnFailureProperty(destination=self.dead_letters.queue_arn)),
        )
        step.allow(["sqs:SendMessage"], [self.dead_letters.queue_arn],
                   unexercised_reason="Lambda's on-failure destination after the function failed on an event; "
                                      "the sandbox delivers no asynchronous failures")
        undelivered = self.dead_letters.metric_approximate_number_of_messages_visible(period=Duration.minutes(5))
        self.alarm = cloudwatch.Alarm(self, "UndeliveredCommandEnds", metric=undelivered, threshold=1,
                                      evaluation_periods=1,
                                      alarm_description="A collector command's end could not resume its workflow "
                                                        "(it fell back to polling): see the DLQ.",
                                      treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        self.alarm.add_alarm_action(actions.SnsAction(topic))
        step.acknowledge_star()
