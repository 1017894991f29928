"""The aborted-run recorder: an EventBridge rule on this state machine's executions that end ABORTED,
TIMED_OUT or FAILED (the endings that can bypass RecordOutcome), and the small Lambda that records,
releases the lock, cleans up the collection and notifies for them. Events it cannot deliver land in its
own dead-letter queue, whose alarm tells the topic."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.evidence_store import EvidenceStore
from infra.constructs.step_function import SharedFunctionProps, StepFunction
from infra.constructs.workflow_steps import grant_abandon_fallbacks, grant_spend_write_once, grant_table_key
from infra.nag import acknowledge

UNRECORDED_ENDINGS = ["ABORTED", "TIMED_OUT", "FAILED"]  # SUCCEEDED always ran RecordOutcome


def execution_ending_pattern(state_machine_arn: str) -> events.EventPattern:
    return events.EventPattern(source=["aws.states"], detail_type=["Step Functions Execution Status Change"],
                               detail={"status": UNRECORDED_ENDINGS, "stateMachineArn": [state_machine_arn]})


class AbortedRunRecorder(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, shared: SharedFunctionProps,
                 state_machine: sfn.StateMachine, table: dynamodb.ITable, topic: sns.ITopic, key: kms.IKey,
                 evidence: EvidenceStore) -> None:
        super().__init__(scope, construct_id)
        self.step = StepFunction(self, "RecordAbortedRun", step="record_aborted_run",
                                 description="record, release and notify for executions that ended outside "
                                             "the workflow", shared=shared, timeout=Duration.seconds(120))
        self.function = self.step.function
        self._grant(state_machine, table, topic, key, evidence)
        self.dead_letters = sqs.Queue(self, "DeadLetters", encryption=sqs.QueueEncryption.KMS,
                                      encryption_master_key=key, enforce_ssl=True,
                                      retention_period=Duration.days(14))
        acknowledge(self.dead_letters, "AwsSolutions-SQS3", "This queue is itself the dead-letter queue of the "
                                                             "execution-ending rule's target.")
        self.rule = events.Rule(self, "ExecutionEndingRule",
                                description="Panic Button: record executions that ended ABORTED, TIMED_OUT or "
                                            "FAILED without their outcome",
                                event_pattern=execution_ending_pattern(state_machine.state_machine_arn))
        self.rule.add_target(targets.LambdaFunction(self.function, dead_letter_queue=self.dead_letters,
                                                    retry_attempts=8, max_event_age=Duration.hours(6)))
        # EventBridge invokes asynchronously: an ending the function itself failed on (after Lambda's own
        # retries) must land in the same queue, not vanish. L1, because SqsDestination would grant the key's
        # wildcard actions (kms:GenerateDataKey*, kms:ReEncrypt*); the exact grant is below.
        lambda_.CfnEventInvokeConfig(
            self, "AsyncFailures", function_name=self.function.function_name, qualifier="$LATEST",
            maximum_retry_attempts=2, maximum_event_age_in_seconds=6 * 3600,
            destination_config=lambda_.CfnEventInvokeConfig.DestinationConfigProperty(
                on_failure=lambda_.CfnEventInvokeConfig.OnFailureProperty(destination=self.dead_letters.queue_arn)),
        )
        # The key: granted with the table's.
        self.step.allow(["sqs:SendMessage"], [self.dead_letters.queue_arn],
                        unexercised_reason="Lambda sends an ending the recorder failed on past its retries with "
                                           "the function's role; the sandbox has no asynchronous failure "
                                           "destinations")
        undelivered = self.dead_letters.metric_approximate_number_of_messages_visible(period=Duration.minutes(5))
        self.alarm = cloudwatch.Alarm(self, "UndeliveredEndings", metric=undelivered, threshold=1,
                                      evaluation_periods=1,
                                      alarm_description="An ended execution could not be recorded: see the DLQ.",
                                      treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        self.alarm.add_alarm_action(actions.SnsAction(topic))

    def _grant(self, state_machine: sfn.StateMachine, table: dynamodb.ITable, topic: sns.ITopic, key: kms.IKey,
               evidence: EvidenceStore) -> None:
        step = self.step
        executions = Stack.of(self).format_arn(service="states", resource="execution",
                                               resource_name=f"{state_machine.state_machine_name}:*",
                                               arn_format=ArnFormat.COLON_RESOURCE_NAME)
        step.allow(["states:GetExecutionHistory"], [executions],
                   wildcard_reason="Execution names are chosen at start time; only executions of this stack's "
                                   "state machine, read-only")
        step.allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], [table.table_arn])
        step.allow(["dynamodb:Query"], [table.table_arn],
                   unexercised_reason="an execution stopped before its target was resolved is recorded at the "
                                      "time an earlier attempt wrote, found by execution name (logic/reporting.py); "
                                      "sandbox executions are stopped after resolution")
        grant_table_key(step, key, publishes=True)  # the table and the topic share the stack's key
        step.allow(["sns:Publish"], [topic.topic_arn])
        # GetObject: HeadObject tells a completed (kept, tagged unverified) dump from a half-done upload.
        step.allow(["s3:GetObject", "s3:AbortMultipartUpload"], [evidence.objects_arn()],
                   wildcard_reason="Objects are named per instance and execution at run time, always under "
                                   "the evidence prefix of this stack's bucket")
        grant_abandon_fallbacks(step, evidence)
        grant_spend_write_once(step, evidence, key)
        # Every version of a manifest goes, as in AbandonCollection: a noncurrent one still serves its URLs.
        step.allow(["s3:DeleteObjectVersion"], [evidence.objects_arn()],
                   wildcard_reason="Manifests are named per instance and execution at run time, always under "
                                   "the evidence prefix of this stack's bucket")
        # ListBucket: without it S3 answers HeadObject on a never-completed dump with 403, not 404, and the
        # abort of that upload never runs (found by the sandbox's IAM evaluation).
        step.allow(["s3:ListBucket"], [evidence.bucket.bucket_arn])
        step.allow(["s3:ListBucketVersions"], [evidence.bucket.bucket_arn],
                   {"StringLike": {"s3:prefix": f"{evidence.prefix}/*"}})
        step.allow(["ssm:CancelCommand"], ["*"],
                   wildcard_reason="ssm:CancelCommand names a command ID, which has no ARN to scope to; it can "
                                   "only stop commands, not start them")
        step.acknowledge_star()
