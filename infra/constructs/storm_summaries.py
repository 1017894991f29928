"""The storm summariser: a Lambda that an EventBridge schedule wakes every minute to publish one message
per ended storm window (the rate-limited skips that were not notified one by one)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.constructs.step_function import SharedFunctionProps, StepFunction
from infra.constructs.workflow_steps import grant_table_key

SUMMARY_SCHEDULE_MINUTES = 1  # a window's summary goes out within a minute of its end


class StormSummaries(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, shared: SharedFunctionProps, table: dynamodb.ITable,
                 topic: sns.ITopic, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.step = StepFunction(self, "PublishStormSummaries", step="publish_storm_summaries",
                                 description="publish one summary per ended storm window", shared=shared,
                                 timeout=Duration.seconds(60), asynchronous=True)
        self.function = self.step.function
        # Query: the windows whose summary is due; UpdateItem: close, claim, give back, mark; GetItem: read one.
        self.step.allow(["dynamodb:Query", "dynamodb:GetItem", "dynamodb:UpdateItem"], [table.table_arn])
        grant_table_key(self.step, key, publishes=True)  # the table and the topic share the stack's key
        self.step.allow(["sns:Publish"], [topic.topic_arn])
        self.step.acknowledge_star()
        # A missed run is made up by the next one a minute later: every due window is still open in the table.
        every = events.Schedule.rate(Duration.minutes(SUMMARY_SCHEDULE_MINUTES))
        self.rule = events.Rule(self, "Schedule", schedule=every,
                                description="Panic Button: publish the summary of each ended storm window")
        self.rule.add_target(targets.LambdaFunction(self.function, retry_attempts=2, max_event_age=Duration.hours(1)))
