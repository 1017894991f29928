"""What operators watch: outcomes over time, workflow health, and alarms on the signals that mean
Panic Button itself needs attention (failed executions, undeliverable alarm events)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.step_function import StepFunction

NAMESPACE = "PanicButton"  # panic_button.observability.NAMESPACE
SERVICE = "panic-button"
OUTCOMES = ("DUMP_COLLECTED", "RECOVERED_NO_DUMP", "NOT_RECOVERED", "COLLECTION_FAILED", "DRY_RUN",
            "SKIPPED_NOT_AUTHORIZED", "SKIPPED_NOT_ELIGIBLE", "SKIPPED_ALREADY_HEALTHY", "SKIPPED_COOLDOWN",
            "SKIPPED_RATE_LIMITED", "REJECTED_INVALID_INPUT", "DENIED_BY_OPERATOR", "APPROVAL_TIMED_OUT",
            "WORKFLOW_FAILED", "WORKFLOW_ABORTED")


def outcome_metric(outcome: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(namespace=NAMESPACE, metric_name="Remediations", statistic="Sum",
                             dimensions_map={"service": SERVICE, "Outcome": outcome}, label=outcome,
                             period=Duration.hours(1))


class OperationsDashboard(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, state_machine: sfn.StateMachine,
                 dead_letters: sqs.IQueue, steps: list[StepFunction], topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        failed = state_machine.metric_failed(period=Duration.minutes(5), statistic="Sum")
        undelivered = dead_letters.metric_approximate_number_of_messages_visible(period=Duration.minutes(5))
        self.alarms = [
            cloudwatch.Alarm(self, "WorkflowFailures", metric=failed, threshold=1, evaluation_periods=1,
                             alarm_description="A Panic Button execution failed: see its record and logs.",
                             treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING),
            cloudwatch.Alarm(self, "UndeliveredAlarmEvents", metric=undelivered, threshold=1, evaluation_periods=1,
                             alarm_description="Alarm events could not start the workflow: see the DLQ.",
                             treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING),
        ]
        for alarm in self.alarms:
            alarm.add_alarm_action(actions.SnsAction(topic))
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.days(7))
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(markdown="# Panic Button\nOutcomes of diagnostic-interrupt remediations. "
                                           "Red outcomes page a human.", width=24, height=2),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Remediation outcomes (per hour)", width=16, height=8, stacked=True,
                                   left=[outcome_metric(o) for o in OUTCOMES]),
            cloudwatch.SingleValueWidget(title="Needs attention (7 days)", width=8, height=8,
                                         metrics=[outcome_metric(o) for o in
                                                  ("NOT_RECOVERED", "COLLECTION_FAILED", "WORKFLOW_FAILED",
                                                   "WORKFLOW_ABORTED")]),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Executions", width=8, height=6,
                                   left=[state_machine.metric_started(), state_machine.metric_succeeded(),
                                         state_machine.metric_failed()]),
            cloudwatch.GraphWidget(title="Step errors", width=8, height=6,
                                   left=[s.function.metric_errors(label=s.node.id) for s in steps]),
            cloudwatch.AlarmStatusWidget(title="Health", width=8, height=6, alarms=self.alarms),
        )
