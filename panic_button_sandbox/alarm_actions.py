"""CloudWatch alarm actions to SNS, as the service principal cloudwatch.amazonaws.com: the topic policy and
the topic's key policy must let it publish (with the alarm as aws:SourceArn), or the notification is lost
and the alarm's history says "Failed to execute action ...". moto runs no alarm actions; this adds them."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from moto.sns.models import sns_backends

from panic_button_sandbox.iam.enforcement import IamEnforcement
from panic_button_sandbox.iam.operations import Access, KmsUse


@dataclass(frozen=True)
class AlarmAction:
    alarm_name: str
    topic_arn: str
    delivered: bool
    error: str = ""


class AlarmActionLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._actions: list[AlarmAction] = []

    def add(self, action: AlarmAction) -> None:
        with self._lock:
            self._actions.append(action)

    def of(self, alarm_name: str) -> list[AlarmAction]:
        with self._lock:
            return [a for a in self._actions if a.alarm_name == alarm_name]


def run_alarm_actions(alarm: Any, iam: IamEnforcement, log: AlarmActionLog, account: str, region: str) -> None:
    """The SNS actions of the state the alarm just entered."""
    if not alarm.actions_enabled:
        return
    actions = {"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions,
               "INSUFFICIENT_DATA": alarm.insufficient_data_actions}.get(alarm.state_value) or []
    for topic_arn in [arn for arn in actions if arn.startswith("arn:aws:sns:")]:
        policy, key = iam.state.topic(topic_arn)
        kms = [KmsUse(key, ("kms:GenerateDataKey", "kms:Decrypt"), {"aws:sns:topicArn": topic_arn},
                      f"sns.{region}.amazonaws.com")] if key else []
        refused = iam.authorize_service("cloudwatch.amazonaws.com", Access("sns:Publish", topic_arn, {}, policy or []),
                                        kms, alarm.alarm_arn)
        if refused is not None:
            error = (f"Failed to execute action {topic_arn}. Received error: \"Resource: {alarm.alarm_arn} is not "
                     f"authorized to perform: {refused.request.action} on resource: {refused.request.resource}\"")
            log.add(AlarmAction(alarm.name, topic_arn, delivered=False, error=error))
            continue
        sns_backends[account][region].publish(json.dumps(_notification(alarm, account, region)), arn=topic_arn,
                                              subject=f'ALARM: "{alarm.name}" in {region}')
        log.add(AlarmAction(alarm.name, topic_arn, delivered=True))


def _notification(alarm: Any, account: str, region: str) -> dict[str, Any]:
    """The JSON body CloudWatch publishes (its main fields)."""
    return {"AlarmName": alarm.name, "AlarmDescription": alarm.description, "AWSAccountId": account,
            "NewStateValue": alarm.state_value, "NewStateReason": alarm.state_reason, "Region": region,
            "AlarmArn": alarm.alarm_arn}
