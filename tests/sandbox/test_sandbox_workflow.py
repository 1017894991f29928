"""The workflow's path through the sandbox: alarm -> EventBridge -> Step Functions -> real Lambda handlers."""

from __future__ import annotations

import copy
import json
import os
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sample_events import ALARM_STATE_CHANGE
from sandbox_support import eventually

from panic_button_sandbox import Deployment, Sandbox


@pytest.fixture(scope="module")
def sample_event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads(ALARM_STATE_CHANGE.read_text())
    return event


def _input_of(sandbox: Sandbox, execution_arn: str) -> Any:
    return json.loads(sandbox.client("stepfunctions").describe_execution(executionArn=execution_arn)["input"])


def test_task_error_is_caught_by_name_after_a_scaled_retry(sandbox: Sandbox, deployment: Deployment) -> None:
    stepfunctions = sandbox.client("stepfunctions")
    execution_arn = stepfunctions.start_execution(
        stateMachineArn=deployment.outputs["StateMachineArn"], input=json.dumps({"instanceId": "i-0abc"})
    )["executionArn"]
    # The definition waits 300 s and retries after 300 s: only the time scale lets this finish.
    execution = sandbox.wait_for_execution(execution_arn)
    assert execution["status"] == "SUCCEEDED"
    output = json.loads(execution["output"])
    assert output["label"] == "refused-by-name"
    assert output["error"]["Error"] == "NotAuthorized"
    cause = json.loads(output["error"]["Cause"])
    assert cause["errorMessage"] == "instance i-0abc is not opted in"
    assert output["flaky_calls"] == 2  # Transient was retried by name, in the same warm function
    assert output["flaky_greeting"] == "flaky"


def test_handler_sees_its_own_environment_and_a_lambda_context(sandbox: Sandbox, deployment: Deployment) -> None:
    name = deployment.outputs["DescribeFunctionName"]
    response = sandbox.client("lambda").invoke(FunctionName=name, Payload=json.dumps({"ping": 1}))
    assert "FunctionError" not in response
    result = json.loads(response["Payload"].read())
    assert result["greeting"] == "hello sandbox"  # read at import: the module belongs to this function
    assert result["table"] == deployment.outputs["TableName"]
    assert result["function_name"] == name and result["memory"] == 256
    assert result["arn"] == deployment.resources["DescribeFn9A8B7C6D"].attributes["Arn"]
    assert result["log_group"] == f"/aws/lambda/{name}"
    assert 0 < result["remaining_ms"] <= 30_000
    assert re.fullmatch(r"[0-9a-f-]{36}", result["request_id"])
    assert result["event"] == {"ping": 1}
    assert "GREETING" not in os.environ and "AWS_LAMBDA_FUNCTION_NAME" not in os.environ


def test_handler_exception_is_the_lambda_error_envelope(sandbox: Sandbox, deployment: Deployment) -> None:
    response = sandbox.client("lambda").invoke(
        FunctionName=deployment.physical_id("RefuseFn1F2A3B4C"), Payload=json.dumps({"instanceId": "i-9"})
    )
    assert response["FunctionError"] == "Unhandled"
    envelope = json.loads(response["Payload"].read())
    assert envelope["errorType"] == "NotAuthorized"
    assert envelope["errorMessage"] == "instance i-9 is not opted in"
    assert any("raise NotAuthorized" in frame for frame in envelope["stackTrace"])


def test_alarm_state_change_starts_the_workflow_with_the_documented_event(
    sandbox: Sandbox, deployment: Deployment, sample_event: dict[str, Any]
) -> None:
    alarm_name = deployment.outputs["AlarmName"]
    [execution_arn] = sandbox.set_alarm_state(alarm_name, "ALARM", "Threshold Crossed: 3 datapoints")
    event = _input_of(sandbox, execution_arn)
    assert set(event) == set(sample_event)
    assert (event["source"], event["detail-type"], event["account"], event["region"]) == (
        "aws.cloudwatch", "CloudWatch Alarm State Change", "123456789012", "us-east-1",
    )  # fmt: skip
    assert event["resources"] == [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm_name}"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    detail = event["detail"]
    assert set(detail) == set(sample_event["detail"])
    assert detail["alarmName"] == alarm_name
    assert detail["configuration"] == sample_event["detail"]["configuration"]
    assert detail["previousState"]["value"] == "OK"
    assert (detail["state"]["value"], detail["state"]["reason"]) == ("ALARM", "Threshold Crossed: 3 datapoints")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", detail["state"]["timestamp"])
    assert sandbox.wait_for_execution(execution_arn)["status"] == "SUCCEEDED"


def test_alarm_without_a_state_change_emits_nothing(sandbox: Sandbox, deployment: Deployment) -> None:
    alarm_name = deployment.outputs["AlarmName"]
    sandbox.set_alarm_state(alarm_name, "OK")
    assert len(sandbox.set_alarm_state(alarm_name, "ALARM")) == 1
    assert sandbox.set_alarm_state(alarm_name, "ALARM") == []
    assert sandbox.set_alarm_state(alarm_name, "OK") == []  # emitted, but the rule wants ALARM


def test_put_event_goes_through_the_rule(
    sandbox: Sandbox, deployment: Deployment, sample_event: dict[str, Any]
) -> None:
    [execution_arn] = sandbox.put_event(sample_event)
    delivered = _input_of(sandbox, execution_arn)
    assert delivered["detail"] == sample_event["detail"]
    assert delivered["time"] == sample_event["time"]
    recovered = copy.deepcopy(sample_event)
    recovered["detail"]["state"]["value"] = "OK"
    assert sandbox.put_event(recovered) == []


def test_rule_matches_uses_test_event_pattern(
    sandbox: Sandbox, deployment: Deployment, sample_event: dict[str, Any]
) -> None:
    assert sandbox.rule_matches(sample_event) == [deployment.physical_id("AlarmRule83D9AB3F")]
    other_alarm = copy.deepcopy(sample_event)
    other_alarm["detail"]["alarmName"] = "someone-elses-alarm"
    assert sandbox.rule_matches(other_alarm) == []


def test_test_event_pattern_requires_the_event_envelope(sandbox: Sandbox) -> None:
    events = sandbox.client("events")
    pattern = json.dumps({"source": ["aws.cloudwatch"]})
    with pytest.raises(ClientError) as raised:
        events.test_event_pattern(EventPattern=pattern, Event=json.dumps({"source": "aws.cloudwatch"}))
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_targets_with_input_and_input_path(
    sandbox: Sandbox, deployment: Deployment, sample_event: dict[str, Any]
) -> None:
    events = sandbox.client("events")
    machine = deployment.outputs["StateMachineArn"]
    role = deployment.resources["MachineEventsRoleC8089716"].attributes["Arn"]  # EventBridge starts it as this
    events.put_rule(Name="input-shapes", EventPattern=json.dumps({"source": ["sandbox.test"]}))
    events.put_targets(
        Rule="input-shapes",
        Targets=[
            {"Id": "fixed", "Arn": machine, "RoleArn": role, "Input": json.dumps({"instanceId": "i-fixed"})},
            {"Id": "path", "Arn": machine, "RoleArn": role, "InputPath": "$.detail"},
        ],
    )
    started = sandbox.put_event({"source": "sandbox.test", "detail-type": "t", "detail": {"instanceId": "i-path"}})
    assert sorted(_input_of(sandbox, arn)["instanceId"] for arn in started) == ["i-fixed", "i-path"]
    events.remove_targets(Rule="input-shapes", Ids=["fixed", "path"])
    events.delete_rule(Name="input-shapes")


def test_rule_invokes_a_lambda_target_asynchronously(sandbox: Sandbox, deployment: Deployment) -> None:
    events = sandbox.client("events")
    rule_arn = events.put_rule(Name="remember-events", EventPattern=json.dumps({"source": ["sandbox.remember"]}))[
        "RuleArn"]
    function_arn = deployment.outputs["RememberFunctionArn"]
    # As on AWS, EventBridge may invoke the function only once its resource policy says so.
    sandbox.client("lambda").add_permission(FunctionName=function_arn, StatementId="remember-events",
                                            Action="lambda:InvokeFunction", Principal="events.amazonaws.com",
                                            SourceArn=rule_arn)
    events.put_targets(Rule="remember-events", Targets=[{"Id": "fn", "Arn": function_arn}])
    sandbox.put_event({"source": "sandbox.remember", "detail-type": "t", "detail": {"n": 1}})
    table = deployment.outputs["TableName"]

    def remembered() -> list[Any]:
        items: list[Any] = sandbox.client("dynamodb").query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "remembered"}},
        )["Items"]
        return items

    [item] = eventually(remembered)
    assert json.loads(item["event"]["S"])["detail"] == {"n": 1}
    events.remove_targets(Rule="remember-events", Ids=["fn"])
    events.delete_rule(Name="remember-events")
    sandbox.client("lambda").remove_permission(FunctionName=function_arn, StatementId="remember-events")


def test_scheduled_rules_receive_no_events(sandbox: Sandbox) -> None:
    sqs, events = sandbox.client("sqs"), sandbox.client("events")
    queue_url = sqs.create_queue(QueueName="schedule-sink")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="every-hour", ScheduleExpression="rate(1 hour)")
    events.put_targets(Rule="every-hour", Targets=[{"Id": "q", "Arn": queue_arn}])
    events.put_rule(Name="sink-events", EventPattern=json.dumps({"source": ["sandbox.sink"]}))
    events.put_targets(Rule="sink-events", Targets=[{"Id": "q", "Arn": queue_arn}])
    sandbox.put_event({"source": "sandbox.sink", "detail-type": "t", "detail": {}})
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1  # from the pattern rule only
