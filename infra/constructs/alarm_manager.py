"""The alarm manager: one Lambda that keeps a rescue alarm on every running, opted-in instance, woken by
EC2 state changes, instance tag changes and an hourly reconcile.

Tag changes come from `aws.tag` "Tag Change on Resource" events, not CloudTrail CreateTags/DeleteTags:
they need no CloudTrail trail, arrive once per instance (one CreateTags call may name many) and carry
the resulting tag set. Either way the Lambda re-reads the instance, so a lost or reordered event only
delays convergence until the next reconcile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from aws_cdk import ArnFormat, Aws, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from infra.constructs.step_function import SharedFunctionProps, StepFunction

# Lambda caps all environment variables at 4 KB together: leave room for the shared ones.
MAX_EXTRA_IDS_TEXT = 2048
WATCHED_STATES = ["running", "stopping", "stopped", "shutting-down", "terminated"]


def instance_state_pattern() -> events.EventPattern:
    return events.EventPattern(source=["aws.ec2"], detail_type=["EC2 Instance State-change Notification"],
                               detail={"state": WATCHED_STATES})


def instance_tag_pattern() -> events.EventPattern:
    # Any tag key: the alarm mirrors the instance's tags, not only the opt-in tag.
    return events.EventPattern(source=["aws.tag"], detail_type=["Tag Change on Resource"],
                               detail={"service": ["ec2"], "resource-type": ["instance"]})


class AlarmManager(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, shared: SharedFunctionProps,
                 alarm_name_prefix: str, opt_in_tag_key: str, opt_in_tag_value: str, datapoints_to_alarm: int = 3,
                 evaluation_periods: int = 3, reconcile_every_minutes: int = 60,
                 extra_instance_ids: Sequence[str] = ()) -> None:
        super().__init__(scope, construct_id)
        extra_ids = ",".join(extra_instance_ids)
        if len(extra_ids) > MAX_EXTRA_IDS_TEXT:
            raise ValueError(f"panic-button:extra-instance-ids lists {len(extra_instance_ids)} IDs; at most about "
                             f"{MAX_EXTRA_IDS_TEXT // 20} fit in the Lambda environment: tag the instances instead")
        environment = {
            **shared.environment,
            "OPT_IN_TAG_KEY": opt_in_tag_key,
            "OPT_IN_TAG_VALUE": opt_in_tag_value,
            "ALARM_NAME_PREFIX": alarm_name_prefix,
            "ALARM_DATAPOINTS": str(datapoints_to_alarm),
            "ALARM_EVALUATION_PERIODS": str(evaluation_periods),
            "EXTRA_INSTANCE_IDS": extra_ids,
        }
        # Up to 5 minutes: a first reconcile of thousands of instances creates one alarm per call.
        self.step = StepFunction(self, "ManageAlarms", step="manage_alarms",
                                 description="keep one status-check alarm per running opted-in instance",
                                 shared=replace(shared, environment=environment), timeout=Duration.minutes(5),
                                 memory_mb=512, asynchronous=True)
        self.function = self.step.function
        self._grant(alarm_name_prefix)
        self.rules = self._rules(reconcile_every_minutes)

    def _grant(self, prefix: str) -> None:
        managed_alarms = f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:{prefix}*"
        self.step.allow(
            ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource",
             "cloudwatch:UntagResource", "cloudwatch:ListTagsForResource"],
            [managed_alarms],
            wildcard_reason=f"Alarm names are <prefix><instance-id>-<Name tag>, known only at run time; writes "
                            f"are limited to alarms named {prefix}*, and the code also requires the "
                            f"panic-button:managed tag before changing one")
        self.step.explain_unexercised(["cloudwatch:UntagResource"],
                                      "removes from the alarm a tag removed from its instance (other than the opt-in "
                                      "tag, whose removal deletes the alarm); no sandbox test removes one")
        # DescribeAlarms is authorized per alarm: any alarm of this account and Region, not of any account.
        any_alarm = Stack.of(self).format_arn(service="cloudwatch", resource="alarm", resource_name="*",
                                              arn_format=ArnFormat.COLON_RESOURCE_NAME)
        self.step.allow(["cloudwatch:DescribeAlarms"], [any_alarm],
                        wildcard_reason="cloudwatch:DescribeAlarms must read alarms of any name to find reboot and "
                                        "recover actions that race the rescue (read-only)")
        # DescribeInstanceTypes: no alarm for an instance whose type cannot take a diagnostic interrupt.
        self.step.allow(["ec2:DescribeInstances", "ec2:DescribeInstanceTypes"], ["*"],
                        wildcard_reason="ec2:DescribeInstances and ec2:DescribeInstanceTypes support no "
                                        "resource-level permissions")
        self.step.acknowledge_star()

    def _rules(self, reconcile_every_minutes: int) -> list[events.Rule]:
        # Lost deliveries are healed by the next reconcile, so a bounded retry is enough here.
        target = targets.LambdaFunction(self.function, retry_attempts=4, max_event_age=Duration.hours(1))
        state = events.Rule(self, "InstanceStateRule", event_pattern=instance_state_pattern(),
                            description="Panic Button: add or remove rescue alarms as instances start and stop")
        tags = events.Rule(self, "InstanceTagRule", event_pattern=instance_tag_pattern(),
                           description="Panic Button: re-evaluate an instance's rescue alarm when its tags change")
        schedule = events.Rule(self, "ReconcileSchedule",
                               schedule=events.Schedule.rate(Duration.minutes(reconcile_every_minutes)),
                               description="Panic Button: reconcile every rescue alarm with the fleet")
        for rule in (state, tags, schedule):  # the schedule's event is an "aws.events" Scheduled Event
            rule.add_target(target)
        return [state, tags, schedule]
