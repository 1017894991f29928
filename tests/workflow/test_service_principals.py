"""Calls AWS services make as principals on the stack's behalf, authorized by the resource and key policies
the stack synthesizes (the sandbox's IAM, as for the Lambdas' own calls)."""

from __future__ import annotations

from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.sandbox import Sandbox

Deployed = tuple[Sandbox, Deployment]


def test_operations_alarms_reach_the_encrypted_topic(deployed: Deployed) -> None:
    sandbox, deployment = deployed
    alarms = [alarm.physical_id for alarm in deployment.of_type("AWS::CloudWatch::Alarm")]
    assert alarms, "the stack has operations alarms with SNS actions"
    for alarm in alarms:
        sandbox.set_alarm_state(alarm, "ALARM")
        sandbox.set_alarm_state(alarm, "OK")
        [action] = sandbox.alarm_actions.of(alarm)
        assert action.topic_arn == deployment.outputs["TopicArn"]
        assert action.delivered, action.error
