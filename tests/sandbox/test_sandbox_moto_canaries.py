"""Canaries: moto's stock behaviour that the sandbox replaces is still what we replace.

Each test runs against a bare moto server (no sandbox patches). If a moto upgrade implements one of
these, the test fails loudly: drop or rethink the matching sandbox extension.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import Timeout
from moto.stepfunctions.parser.asl.component.program.program import Program
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_sns
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.utils import boto_client

from panic_button_sandbox.presigning import lambda_like_s3_client
from panic_button_sandbox.sandbox import LINUX_AMI_ID
from panic_button_sandbox.server import LocalAws

DOCUMENT = {
    "schemaVersion": "2.2",
    "description": "would leave a mark",
    "mainSteps": [{"action": "aws:runShellScript", "name": "mark", "inputs": {"runCommand": ["touch {{ Path }}"]}}],
    "parameters": {"Path": {"type": "String"}},
}


@pytest.fixture(scope="module")
def stock() -> Iterator[LocalAws]:
    aws = LocalAws()
    aws.start()
    yield aws
    aws.stop()


def _launch(aws: LocalAws, instance_type: str = "m5.large") -> str:
    reservation = aws.client("ec2").run_instances(
        ImageId=LINUX_AMI_ID, InstanceType=instance_type, MinCount=1, MaxCount=1
    )
    instance_id: str = reservation["Instances"][0]["InstanceId"]
    return instance_id


@pytest.mark.parametrize("operation", ["send_diagnostic_interrupt", "get_console_screenshot"])
def test_stock_ec2_diagnostics_are_missing(stock: LocalAws, operation: str) -> None:
    instance_id = _launch(stock)
    with pytest.raises(ResponseParserError):  # moto answers HTTP 500 with a text body, not EC2 XML
        getattr(stock.client("ec2"), operation)(InstanceId=instance_id)


def test_stock_console_output_is_one_text_for_every_instance(stock: LocalAws) -> None:
    ec2 = stock.client("ec2")
    outputs = {ec2.get_console_output(InstanceId=_launch(stock))["Output"] for _ in range(2)}
    assert len(outputs) == 1
    assert "Linux version 2.6.16-xenU" in outputs.pop()


def test_stock_instance_status_is_always_ok_even_after_reboot(stock: LocalAws) -> None:
    ec2 = stock.client("ec2")
    instance_id = _launch(stock)
    ec2.reboot_instances(InstanceIds=[instance_id])
    [status] = ec2.describe_instance_status(InstanceIds=[instance_id])["InstanceStatuses"]
    assert status["InstanceStatus"]["Status"] == "ok"
    assert status["InstanceState"]["Name"] == "running"


def test_stock_instance_types_report_hypervisor_bare_metal_and_processor(stock: LocalAws) -> None:
    # Not replaced: the sandbox and the interrupt-support rule rely on moto's catalogue for the hypervisor,
    # bare metal, and the processor architectures (Graviton is arm64, Mac is *_mac).
    names = ["m5.large", "t2.micro", "m5.metal", "a1.large", "m7g.large", "m6g.metal", "mac1.metal", "mac2.metal"]
    types = stock.client("ec2").describe_instance_types(InstanceTypes=names)
    by_name = {entry["InstanceType"]: entry for entry in types["InstanceTypes"]}
    assert by_name["m5.large"]["Hypervisor"] == "nitro"
    assert by_name["t2.micro"]["Hypervisor"] == "xen"
    assert by_name["a1.large"]["Hypervisor"] == by_name["m7g.large"]["Hypervisor"] == "nitro"
    assert by_name["m5.metal"]["BareMetal"] is True
    assert "Hypervisor" not in by_name["m5.metal"]
    architectures = {name: entry["ProcessorInfo"]["SupportedArchitectures"] for name, entry in by_name.items()}
    assert architectures["m5.large"] == architectures["m5.metal"] == ["x86_64"]
    assert architectures["t2.micro"] == ["i386", "x86_64"]
    assert architectures["a1.large"] == architectures["m7g.large"] == architectures["m6g.metal"] == ["arm64"]
    assert by_name["m7g.large"]["ProcessorInfo"]["Manufacturer"] == "AWS"
    assert architectures["mac1.metal"] == ["x86_64_mac"] and architectures["mac2.metal"] == ["arm64_mac"]


def test_stock_instance_types_refuse_a_batch_with_one_unknown_name(stock: LocalAws) -> None:
    # As EC2 does: the whole call fails, so the rule's reader retries such a batch one name at a time.
    with pytest.raises(ClientError) as raised:
        stock.client("ec2").describe_instance_types(InstanceTypes=["m5.large", "x9.huge"])
    assert raised.value.response["Error"]["Code"] == "InvalidInstanceType"


def test_stock_send_command_succeeds_without_running_anything(stock: LocalAws, tmp_path: Path) -> None:
    ssm = stock.client("ssm")
    ssm.create_document(Name="CanaryMark", DocumentType="Command", Content=json.dumps(DOCUMENT))
    mark = tmp_path / "ran"
    instance_id = _launch(stock)
    command = ssm.send_command(InstanceIds=[instance_id], DocumentName="CanaryMark", Parameters={"Path": [str(mark)]})[
        "Command"
    ]
    invocation = ssm.get_command_invocation(CommandId=command["CommandId"], InstanceId=instance_id)
    time.sleep(0.2)
    assert invocation["Status"] == "Success"
    assert invocation["StandardOutputContent"] == ""
    assert not mark.exists()


def test_stock_send_command_emits_no_status_change_event(stock: LocalAws) -> None:
    sqs, events, ssm = stock.client("sqs"), stock.client("events"), stock.client("ssm")
    queue_url = sqs.create_queue(QueueName="canary-command-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="canary-commands", EventPattern=json.dumps({"source": ["aws.ssm"]}))
    events.put_targets(Rule="canary-commands", Targets=[{"Id": "q", "Arn": queue_arn}])
    ssm.create_document(Name="CanaryEvents", DocumentType="Command", Content=json.dumps(DOCUMENT))
    ssm.send_command(InstanceIds=[_launch(stock)], DocumentName="CanaryEvents", Parameters={"Path": ["/nowhere"]})
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)
    # The route itself works: an event put by hand arrives, so the silence above is moto's.
    events.put_events(Entries=[{"Source": "aws.ssm", "DetailType": "EC2 Command Invocation Status-change "
                                "Notification", "Detail": "{}"}])
    assert len(sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", [])) == 1
    events.remove_targets(Rule="canary-commands", Ids=["q"])


def test_stock_set_error_overrides_a_stopped_program() -> None:
    # A `.waitForTaskToken` wait that StopExecution interrupts fails afterwards; stock then reports FAILED.
    source = inspect.getsource(Environment.set_error)
    assert "self._program_state = ProgramError(error=error)" in source and "ProgramStopped" not in source


def test_stock_state_timeouts_are_the_one_function_the_sandbox_scales() -> None:
    # A Task's TimeoutSeconds reaches the interpreter only through Timeout._eval_body (the value pushed on
    # the stack); the execution's own TimeoutSeconds is read as an attribute and stays in real seconds.
    assert "env.stack.append(seconds)" in inspect.getsource(Timeout._eval_body)
    assert "self.timeout_seconds.timeout_seconds" in inspect.getsource(Program)


@pytest.mark.parametrize(
    ("operation", "arguments"),
    [
        ("list_command_invocations", {}),
        ("describe_instance_information", {}),
        ("cancel_command", {"CommandId": "0b8a6c1e-3f0e-4f7a-9d55-2c1b7a9e4d10"}),
    ],
)
def test_stock_ssm_actions_are_not_implemented(stock: LocalAws, operation: str, arguments: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as raised:
        getattr(stock.client("ssm"), operation)(**arguments)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_stock_test_event_pattern_has_no_result(stock: LocalAws) -> None:
    answer = stock.client("events").test_event_pattern(
        EventPattern=json.dumps({"source": ["aws.cloudwatch"]}), Event=json.dumps({"source": "aws.cloudwatch"})
    )
    assert "Result" not in answer


def test_stock_rule_cannot_start_a_state_machine(stock: LocalAws) -> None:
    events = stock.client("events")
    events.put_rule(Name="canary-sfn", EventPattern=json.dumps({"source": ["canary.sfn"]}))
    events.put_targets(
        Rule="canary-sfn",
        Targets=[{"Id": "m", "Arn": "arn:aws:states:us-east-1:123456789012:stateMachine:canary"}],
    )
    with pytest.raises(ClientError) as raised:
        events.put_events(Entries=[{"Source": "canary.sfn", "DetailType": "x", "Detail": "{}"}])
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    events.remove_targets(Rule="canary-sfn", Ids=["m"])


def test_stock_set_alarm_state_emits_no_event(stock: LocalAws) -> None:
    sqs, events, cloudwatch = stock.client("sqs"), stock.client("events"), stock.client("cloudwatch")
    queue_url = sqs.create_queue(QueueName="canary-alarm-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="canary-alarms", EventPattern=json.dumps({"source": ["aws.cloudwatch"]}))
    events.put_targets(Rule="canary-alarms", Targets=[{"Id": "q", "Arn": queue_arn}])
    cloudwatch.put_metric_alarm(
        AlarmName="canary",
        MetricName="StatusCheckFailed_Instance",
        Namespace="AWS/EC2",
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="canary", StateValue="ALARM", StateReason="canary")
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)


def test_stock_lambda_without_docker_returns_canned_text(stock: LocalAws) -> None:
    backend = LambdaSimpleBackend("us-east-1", "123456789012")
    assert backend.invoke("any", None, None, {}, {}) == b"Simple Lambda happy path OK"


def test_stock_interpreter_sleeps_are_the_two_functions_the_sandbox_scales() -> None:
    assert "env.program_state_event.wait(wait_seconds)" in inspect.getsource(WaitFunction._wait_interval)
    retry_source = inspect.getsource(retrier_decl)
    assert retry_source.count("time.") == 1
    assert "time.sleep(interval_seconds)" in retry_source


def test_stock_rule_cannot_invoke_a_lambda(stock: LocalAws) -> None:
    events = stock.client("events")
    events.put_rule(Name="canary-fn", EventPattern=json.dumps({"source": ["canary.fn"]}))
    events.put_targets(
        Rule="canary-fn", Targets=[{"Id": "f", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:x"}]
    )
    with pytest.raises(ClientError) as raised:
        events.put_events(Entries=[{"Source": "canary.fn", "DetailType": "x", "Detail": "{}"}])
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    events.remove_targets(Rule="canary-fn", Ids=["f"])


def test_stock_scheduled_rule_receives_every_event(stock: LocalAws) -> None:
    sqs, events = stock.client("sqs"), stock.client("events")
    queue_url = sqs.create_queue(QueueName="canary-schedule")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="canary-hourly", ScheduleExpression="rate(1 hour)")
    events.put_targets(Rule="canary-hourly", Targets=[{"Id": "q", "Arn": queue_arn}])
    events.put_events(Entries=[{"Source": "anything", "DetailType": "x", "Detail": "{}"}])
    assert len(sqs.receive_message(QueueUrl=queue_url)["Messages"]) == 1
    events.remove_targets(Rule="canary-hourly", Ids=["q"])


def test_stock_bucket_policy_applies_a_conditional_deny_to_everything(stock: LocalAws) -> None:
    s3 = stock.client("s3")
    s3.create_bucket(Bucket="canary-enforce-ssl")
    deny_plain_http = {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::canary-enforce-ssl", "arn:aws:s3:::canary-enforce-ssl/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    s3.put_bucket_policy(
        Bucket="canary-enforce-ssl", Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny_plain_http]})
    )
    with pytest.raises(ClientError) as raised:
        s3.put_object(Bucket="canary-enforce-ssl", Key="k", Body=b"x")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def _state_machine(aws: LocalAws, name: str, **definition: Any) -> str:
    body = {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 60, "End": True}}, **definition}
    arn: str = aws.client("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(body), roleArn="arn:aws:iam::123456789012:role/canary")["stateMachineArn"]
    return arn


def _ended(aws: LocalAws, execution_arn: str) -> dict[str, Any]:
    stepfunctions = aws.client("stepfunctions")
    deadline = time.monotonic() + 30
    while (described := stepfunctions.describe_execution(executionArn=execution_arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution never ended"
        time.sleep(0.05)
    return dict(described)


def test_stock_execution_endings_emit_no_status_change_event(stock: LocalAws) -> None:
    sqs, events, stepfunctions = stock.client("sqs"), stock.client("events"), stock.client("stepfunctions")
    queue_url = sqs.create_queue(QueueName="canary-execution-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="canary-executions", EventPattern=json.dumps({"source": ["aws.states"]}))
    events.put_targets(Rule="canary-executions", Targets=[{"Id": "q", "Arn": queue_arn}])
    execution = stepfunctions.start_execution(stateMachineArn=_state_machine(stock, "canary-stop"))["executionArn"]
    stepfunctions.stop_execution(executionArn=execution, error="Canary.Stop", cause="by the canary")
    assert _ended(stock, execution)["status"] == "ABORTED"
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)
    # The route itself works: an event put by hand arrives, so the silence above is moto's.
    events.put_events(Entries=[{"Source": "aws.states", "DetailType": "Step Functions Execution Status Change",
                                "Detail": "{}"}])
    assert len(sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", [])) == 1
    events.remove_targets(Rule="canary-executions", Ids=["q"])


def test_stock_stop_execution_drops_its_error_and_cause(stock: LocalAws) -> None:
    stepfunctions = stock.client("stepfunctions")
    execution = stepfunctions.start_execution(stateMachineArn=_state_machine(stock, "canary-cause"))["executionArn"]
    stepfunctions.stop_execution(executionArn=execution, error="Canary.Stop", cause="by the canary")
    _ended(stock, execution)
    [aborted] = [e for e in stepfunctions.get_execution_history(executionArn=execution)["events"]
                 if e["type"] == "ExecutionAborted"]
    assert aborted["executionAbortedEventDetails"].get("error", "") == ""
    assert aborted["executionAbortedEventDetails"].get("cause", "") == ""


def test_stock_interpreter_honours_the_workflow_timeout_in_real_seconds(stock: LocalAws) -> None:
    # Not replaced: the sandbox's TIMED_OUT test relies on it (tests/workflow/test_aborted_runs.py).
    stepfunctions = stock.client("stepfunctions")
    machine = _state_machine(stock, "canary-timeout", TimeoutSeconds=1)
    execution = stepfunctions.start_execution(stateMachineArn=machine)["executionArn"]
    assert _ended(stock, execution)["status"] == "TIMED_OUT"


def test_stock_moto_serves_what_no_role_allows(stock: LocalAws) -> None:
    # The reason for the sandbox's own IAM: moto serves every call whatever the caller's role says.
    iam = stock.client("iam")
    iam.create_role(RoleName="canary-nothing", AssumeRolePolicyDocument=json.dumps({"Statement": []}))
    assert iam.list_role_policies(RoleName="canary-nothing")["PolicyNames"] == []
    stock.client("s3").create_bucket(Bucket="canary-no-grant")
    stock.client("s3").put_object(Bucket="canary-no-grant", Key="k", Body=b"served")


def test_stock_alarm_actions_publish_nothing(stock: LocalAws) -> None:
    sns, sqs, cloudwatch = stock.client("sns"), stock.client("sqs"), stock.client("cloudwatch")
    topic = sns.create_topic(Name="canary-alarm-actions")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="canary-alarm-actions")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    cloudwatch.put_metric_alarm(AlarmName="canary-actions", MetricName="m", Namespace="n", Statistic="Maximum",
                                Period=60, EvaluationPeriods=1, Threshold=1, AlarmActions=[topic],
                                ComparisonOperator="GreaterThanOrEqualToThreshold")
    cloudwatch.set_alarm_state(AlarmName="canary-actions", StateValue="ALARM", StateReason="canary")
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)


def test_stock_interpreter_clients_use_fixed_keys_from_one_shared_function() -> None:
    # The sandbox replaces `boto_client_for` in each module that imported it, to authorize as the execution's role.
    assert lambda_eval_utils.boto_client_for is boto_client.boto_client_for
    assert state_task_service_sns.boto_client_for is boto_client.boto_client_for
    assert 'aws_access_key_id="ak"' in inspect.getsource(boto_client.boto_client_for)


def test_stock_boto3_clients_take_the_session_from_get_default_session() -> None:
    # The sandbox gives each Lambda's thread its own default session through this one function.
    assert "_get_default_session().client(" in inspect.getsource(boto3.client)


def test_stock_presigned_urls_are_served_whoever_signed_them(stock: LocalAws) -> None:
    # The sandbox authorizes presigned requests as their signer at moto's server entry.
    stock.client("s3").create_bucket(Bucket="canary-presigned")
    unknown_signer = boto3.client("s3", endpoint_url=stock.endpoint_url, region_name="us-east-1",
                                  aws_access_key_id="ASIAUNKNOWNSIGNER000", aws_secret_access_key="x")
    url = unknown_signer.generate_presigned_url("put_object", Params={"Bucket": "canary-presigned", "Key": "k"})
    request = urllib.request.Request(url, data=b"served", method="PUT")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    assert "__call__" in DomainDispatcherApplication.__dict__


def _multipart(aws: LocalAws, bucket: str) -> tuple[Any, str]:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    upload_id: str = s3.create_multipart_upload(Bucket=bucket, Key="dump", ChecksumAlgorithm="SHA256")["UploadId"]
    return s3, upload_id


def test_stock_upload_part_accepts_a_wrong_sha256(stock: LocalAws) -> None:
    # Replaced by panic_button_sandbox/moto_s3.py: S3 answers 400 BadDigest.
    s3, upload_id = _multipart(stock, "canary-bad-digest")
    wrong = base64.b64encode(hashlib.sha256(b"other bytes").digest()).decode()
    s3.upload_part(Bucket="canary-bad-digest", Key="dump", UploadId=upload_id, PartNumber=1, Body=b"x",
                   ChecksumSHA256=wrong)


def test_stock_presigned_part_takes_an_unsigned_checksum_header(stock: LocalAws) -> None:
    # Replaced by panic_button_sandbox/moto_s3.py: S3 answers 403 AccessDenied with HeadersNotSigned.
    _, upload_id = _multipart(stock, "canary-unsigned")
    presigner = lambda_like_s3_client(stock.endpoint_url)
    url = presigner.generate_presigned_url("upload_part", Params={"Bucket": "canary-unsigned", "Key": "dump",
                                                           "UploadId": upload_id, "PartNumber": 1})
    request = urllib.request.Request(url, data=b"x", method="PUT", headers={
        "Content-Type": "application/octet-stream", "x-amz-checksum-crc32": "AAAAAA=="})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def test_stock_complete_multipart_upload_returns_no_composite_checksum(stock: LocalAws) -> None:
    # Replaced by panic_button_sandbox/moto_s3.py: S3 answers ChecksumSHA256 "<base64>-<parts>".
    s3, upload_id = _multipart(stock, "canary-composite")
    body = b"x" * 10
    part = s3.upload_part(Bucket="canary-composite", Key="dump", UploadId=upload_id, PartNumber=1, Body=body,
                          ChecksumSHA256=base64.b64encode(hashlib.sha256(body).digest()).decode())
    completed = s3.complete_multipart_upload(
        Bucket="canary-composite", Key="dump", UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert "ChecksumSHA256" not in completed


def test_stock_lambda_arn_tasks_name_every_service_error_exception() -> None:
    source = inspect.getsource(StateTaskLambda._from_error)
    assert 'error = "Exception"' in source
    assert "if isinstance(ex, ClientError):\n            error_name = CustomErrorName(error)" in source


def _callback_execution(aws: LocalAws, name: str, **task: Any) -> tuple[str, str]:
    """An execution waiting in a `.waitForTaskToken` task, and its token (read from the queue it wrote)."""
    sqs = aws.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"canary-{name}")["QueueUrl"]
    machine = _state_machine(aws, f"canary-{name}", StartAt="Ask", States={"Ask": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": True,
        "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token"}}, **task}})
    execution = aws.client("stepfunctions").start_execution(stateMachineArn=machine)["executionArn"]
    deadline = time.monotonic() + 30
    while not (messages := sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages")):
        assert time.monotonic() < deadline, "the task never sent its token"
        time.sleep(0.05)
    return execution, str(json.loads(messages[0]["Body"])["token"])


def test_stock_send_task_failure_drops_its_cause(stock: LocalAws) -> None:
    # Replaced: panic_button_sandbox/task_callbacks.py passes the cause on (panic-button deny sends the decision).
    stepfunctions = stock.client("stepfunctions")
    execution, token = _callback_execution(stock, "deny")
    stepfunctions.send_task_failure(taskToken=token, error="DeniedByOperator", cause="by the canary")
    assert _ended(stock, execution)["status"] == "FAILED"
    [failed] = [e for e in stepfunctions.get_execution_history(executionArn=execution)["events"]
                if e["type"] == "TaskFailed"]
    assert failed["taskFailedEventDetails"]["error"] == "DeniedByOperator"
    assert failed["taskFailedEventDetails"].get("cause", "") == ""


def test_stock_used_task_token_is_refused_as_invalid(stock: LocalAws) -> None:
    # Not replaced. A second `panic-button approve` is refused by the approval store before it answers the
    # token; this is Step Functions' own refusal behind it. moto gives it once the execution has ended (a
    # token answered twice while its run still goes on was accepted in a sandbox try), so no test relies
    # on it mid-run.
    stepfunctions = stock.client("stepfunctions")
    execution, token = _callback_execution(stock, "twice")
    stepfunctions.send_task_success(taskToken=token, output='{"decision": "approve"}')
    assert _ended(stock, execution)["status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as raised:
        stepfunctions.send_task_success(taskToken=token, output="{}")
    assert raised.value.response["Error"]["Code"] == "InvalidToken"


def test_stock_task_heartbeat_is_waited_in_real_seconds(stock: LocalAws) -> None:
    # Replaced: the sandbox divides task TimeoutSeconds and HeartbeatSeconds by its time scale.
    # A one-hour TimeoutSeconds: within _ended's patience only the 1 s heartbeat can end the task.
    execution, _ = _callback_execution(stock, "heartbeat", TimeoutSeconds=3600, HeartbeatSeconds=1)
    described = _ended(stock, execution)
    # Not replaced: moto names a missed heartbeat States.Timeout where AWS says States.HeartbeatTimeout.
    # RequestApproval catches both alike, so the sandbox's runs take the same path as on AWS.
    assert described["status"] == "FAILED" and described.get("error") == "States.Timeout"


def test_stock_interpreter_names_a_failed_lambda_invoke_exception() -> None:
    # AWS names it Lambda.<code> (Lambda.ServiceException, ...); the sandbox does (panic_button_sandbox/faults).
    source = inspect.getsource(StateTaskLambda._from_error)
    assert 'error = "Exception"' in source
    assert "if isinstance(ex, ClientError):\n            error_name = CustomErrorName(error)" in source


def test_stock_head_object_gives_a_multipart_checksum_without_its_part_count(stock: LocalAws) -> None:
    # Replaced by panic_button_sandbox/moto_s3.py: with ChecksumMode=ENABLED, S3 answers "<base64>-<parts>".
    s3, upload_id = _multipart(stock, "canary-head-composite")
    body = b"x" * 10
    checksum = base64.b64encode(hashlib.sha256(body).digest()).decode()
    part = s3.upload_part(Bucket="canary-head-composite", Key="dump", UploadId=upload_id, PartNumber=1, Body=body,
                          ChecksumSHA256=checksum)
    s3.complete_multipart_upload(
        Bucket="canary-head-composite", Key="dump", UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"], "ChecksumSHA256": checksum}]})
    head = s3.head_object(Bucket="canary-head-composite", Key="dump", ChecksumMode="ENABLED")
    assert not str(head.get("ChecksumSHA256", "")).endswith("-1")
