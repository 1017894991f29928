"""SSM through the sandbox: documents really run on simulated instances; agents report in."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sandbox_support import eventually

from panic_button_sandbox import InstanceSpec, Sandbox, SimulatedInstance
from panic_button_sandbox.server import ACCOUNT_ID, REGION

SHELL_DOCUMENT = {
    "schemaVersion": "2.2",
    "description": "test document",
    "parameters": {
        "Label": {"type": "String", "allowedPattern": "^[a-z0-9-]{1,20}$"},
        "Lines": {"type": "String", "default": "3", "allowedPattern": "^[0-9]+$"},
        "Mode": {"type": "String", "default": "list", "allowedValues": ["list", "fail", "sleep", "flood"]},
        "Timeout": {"type": "String", "default": "600"},
    },
    "mainSteps": [
        {
            "action": "aws:runShellScript",
            "name": "collectLinux",
            "precondition": {"StringEquals": ["platformType", "Linux"]},
            "inputs": {
                "timeoutSeconds": "{{ Timeout }}",
                "runCommand": [
                    "set -eu",
                    'echo "label={{ Label }} root=$PANIC_BUTTON_ROOT path=$PATH tmp=$TMPDIR"',
                    'case "{{ Mode }}" in',
                    '  fail) echo "no dump" >&2; exit 3 ;;',
                    "  sleep) sleep 30000 ;;",  # simulated seconds: 30 real ones at the test scale
                    "  flood) head -c 30000 /dev/zero | tr '\\\\0' o; head -c 9000 /dev/zero | tr '\\\\0' e >&2 ;;",
                    '  *) ls "$PANIC_BUTTON_ROOT/var/crash" | head -n {{ Lines }} ;;',
                    "esac",
                ],
            },
        },
        {
            "action": "aws:runPowerShellScript",
            "name": "collectWindows",
            "precondition": {"StringEquals": ["platformType", "Windows"]},
            "inputs": {"runCommand": ["Write-Output {{ Label }}"]},
        },
    ],
}


@pytest.fixture(scope="module")
def document(sandbox: Sandbox) -> str:
    sandbox.client("ssm").create_document(
        Name="SandboxTestCollect", DocumentType="Command", Content=json.dumps(SHELL_DOCUMENT)
    )
    return "SandboxTestCollect"


def _send(sandbox: Sandbox, instance: SimulatedInstance, document: str, **parameters: str) -> str:
    timeout = parameters.pop("delivery_timeout", None)
    extra: dict[str, Any] = {"TimeoutSeconds": int(timeout)} if timeout else {}
    command = sandbox.client("ssm").send_command(
        InstanceIds=[instance.instance_id],
        DocumentName=document,
        Parameters={name: [value] for name, value in parameters.items()},
        **extra,
    )["Command"]
    command_id: str = command["CommandId"]
    return command_id


def _finished(sandbox: Sandbox, command_id: str, instance: SimulatedInstance, plugin: str | None = None) -> Any:
    ssm = sandbox.client("ssm")
    extra = {"PluginName": plugin} if plugin else {}

    def done() -> Any:
        invocation = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance.instance_id, **extra)
        return invocation if invocation["Status"] not in ("Pending", "InProgress", "Delayed", "Cancelling") else None

    return eventually(done)


@pytest.fixture
def crashed(sandbox: Sandbox) -> SimulatedInstance:
    """A Linux instance that panicked, dumped and is back with its agent online."""
    instance = sandbox.launch_instance(InstanceSpec())
    sandbox.client("ec2").send_diagnostic_interrupt(InstanceId=instance.instance_id)
    eventually(lambda: instance.health().agent_online)
    return instance


def test_document_runs_with_parameters_instance_root_and_a_clean_path(
    sandbox: Sandbox, document: str, crashed: SimulatedInstance
) -> None:
    invocation = _finished(sandbox, _send(sandbox, crashed, document, Label="dump-1"), crashed)
    assert invocation["Status"] == "Success" and invocation["ResponseCode"] == 0
    assert invocation["PluginName"] == "collectLinux"
    out = invocation["StandardOutputContent"]
    assert f"label=dump-1 root={crashed.root} path=" in out and f" tmp={crashed.root}/tmp\n" in out
    # The system's PATH, behind one folder that holds only the scaled `sleep` (the collector's backoff)
    shim, _, system = out.split(" path=", 1)[1].split(" ", 1)[0].partition(":")
    assert system == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert [entry.name for entry in Path(shim).iterdir()] == ["sleep"]
    [dump_dir] = (crashed.root / "var/crash").iterdir()
    assert dump_dir.name in out


def test_failing_script_reports_its_exit_code_and_stderr(
    sandbox: Sandbox, document: str, crashed: SimulatedInstance
) -> None:
    invocation = _finished(sandbox, _send(sandbox, crashed, document, Label="x", Mode="fail"), crashed)
    assert (invocation["Status"], invocation["StatusDetails"], invocation["ResponseCode"]) == ("Failed", "Failed", 3)
    assert invocation["StandardErrorContent"] == "no dump\n"


def test_output_is_capped_like_aws(sandbox: Sandbox, document: str, crashed: SimulatedInstance) -> None:
    invocation = _finished(sandbox, _send(sandbox, crashed, document, Label="x", Mode="flood"), crashed)
    assert len(invocation["StandardOutputContent"]) == 24_000
    assert len(invocation["StandardErrorContent"]) == 8_000


def test_execution_timeout_is_scaled_and_kills_the_script(
    sandbox: Sandbox, document: str, crashed: SimulatedInstance
) -> None:
    # 100 s of document timeout is 0.1 s at the test scale; the script would sleep 30 real seconds.
    command_id = _send(sandbox, crashed, document, Label="x", Mode="sleep", Timeout="100")
    invocation = _finished(sandbox, command_id, crashed)
    assert (invocation["Status"], invocation["StatusDetails"]) == ("TimedOut", "ExecutionTimedOut")


@pytest.mark.parametrize(
    "parameters",
    [{"Label": "Bad;rm -rf /"}, {"Label": "x", "Mode": "shutdown"}, {}, {"Label": "x", "Unknown": "1"}],
)
def test_parameters_are_validated_like_aws(
    sandbox: Sandbox, document: str, crashed: SimulatedInstance, parameters: dict[str, str]
) -> None:
    with pytest.raises(ClientError) as raised:
        _send(sandbox, crashed, document, **parameters)
    assert raised.value.response["Error"]["Code"] == "InvalidParameters"


def test_offline_agent_means_delivery_timeout(sandbox: Sandbox, document: str) -> None:
    hung = sandbox.launch_instance(InstanceSpec())
    invocation = _finished(sandbox, _send(sandbox, hung, document, Label="x", delivery_timeout="30"), hung)
    assert (invocation["Status"], invocation["StatusDetails"]) == ("TimedOut", "DeliveryTimedOut")
    assert invocation["StandardOutputContent"] == ""


def test_command_waits_for_the_agent_to_come_back(sandbox: Sandbox, document: str) -> None:
    instance = sandbox.launch_instance(InstanceSpec(reboot_seconds=300))
    sandbox.client("ec2").send_diagnostic_interrupt(InstanceId=instance.instance_id)
    command_id = _send(sandbox, instance, document, Label="x")
    assert sandbox.client("ssm").get_command_invocation(CommandId=command_id, InstanceId=instance.instance_id)[
        "Status"
    ] in ("Pending", "InProgress", "Success")
    assert _finished(sandbox, command_id, instance)["Status"] == "Success"


def test_command_to_stopped_instance_is_refused(sandbox: Sandbox, document: str) -> None:
    stopped = sandbox.launch_instance(InstanceSpec(state="stopped"))
    with pytest.raises(ClientError) as raised:
        _send(sandbox, stopped, document, Label="x")
    assert raised.value.response["Error"]["Code"] == "InvalidInstanceId"


def test_windows_step_goes_to_the_pluggable_collector(
    sandbox: Sandbox, document: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[dict[str, str], Path]] = []

    def run_windows_collector(parameters: dict[str, str], instance_root: Path,
                              time_scale: float = 1.0) -> tuple[int, str, str]:
        calls.append((parameters, instance_root))
        return 0, "collected", ""

    emulator = types.ModuleType("panic_button_sandbox.windows_collector")
    emulator.run_windows_collector = run_windows_collector  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "panic_button_sandbox.windows_collector", emulator)
    windows = sandbox.launch_instance(InstanceSpec(platform="windows", impaired=False))
    command_id = _send(sandbox, windows, document, Label="win")
    invocation = _finished(sandbox, command_id, windows, plugin="collectWindows")
    assert invocation["StandardOutputContent"] == "collected"
    assert calls == [({"Label": "win", "Lines": "3", "Mode": "list", "Timeout": "600"}, windows.root)]
    skipped = _finished(sandbox, command_id, windows, plugin="collectLinux")
    assert skipped["StatusDetails"] == "Skipped"


def test_windows_step_without_the_emulator_fails_clearly(
    sandbox: Sandbox, document: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "panic_button_sandbox.windows_collector", None)  # import fails
    windows = sandbox.launch_instance(InstanceSpec(platform="windows", impaired=False))
    invocation = _finished(sandbox, _send(sandbox, windows, document, Label="win"), windows)
    assert invocation["Status"] == "Failed"
    assert "panic_button_sandbox.windows_collector" in invocation["StandardErrorContent"]


def test_full_output_goes_to_s3_when_asked(sandbox: Sandbox, document: str, crashed: SimulatedInstance) -> None:
    s3 = sandbox.client("s3")
    s3.create_bucket(Bucket="command-output")
    command_id = sandbox.client("ssm").send_command(
        InstanceIds=[crashed.instance_id],
        DocumentName=document,
        Parameters={"Label": ["x"], "Mode": ["flood"]},
        OutputS3BucketName="command-output",
        OutputS3KeyPrefix="runs",
    )["Command"]["CommandId"]
    invocation = _finished(sandbox, command_id, crashed)
    key = f"runs/{command_id}/{crashed.instance_id}/awsrunShellScript/collectLinux/stdout"
    assert invocation["StandardOutputUrl"] == f"s3://command-output/{key}"
    assert len(s3.get_object(Bucket="command-output", Key=key)["Body"].read()) > 24_000


def test_list_command_invocations_with_plugin_details(
    sandbox: Sandbox, document: str, crashed: SimulatedInstance
) -> None:
    command = sandbox.client("ssm").send_command(
        InstanceIds=[crashed.instance_id], DocumentName=document, Parameters={"Label": ["x"]}
    )["Command"]
    assert command["InstanceIds"] == [crashed.instance_id]
    command_id = command["CommandId"]
    _finished(sandbox, command_id, crashed)
    ssm = sandbox.client("ssm")
    [listed] = ssm.list_command_invocations(CommandId=command_id, Details=True)["CommandInvocations"]
    assert listed["Status"] == "Success" and listed["InstanceId"] == crashed.instance_id
    assert [plugin["Name"] for plugin in listed["CommandPlugins"]] == ["collectLinux", "collectWindows"]
    [brief] = ssm.list_command_invocations(CommandId=command_id)["CommandInvocations"]
    assert brief["CommandPlugins"] == []


def test_describe_instance_information_reports_agents(sandbox: Sandbox) -> None:
    hung = sandbox.launch_instance(InstanceSpec())
    fine = sandbox.launch_instance(InstanceSpec(impaired=False, platform="windows"))
    ssm = sandbox.client("ssm")
    listed = ssm.describe_instance_information(
        Filters=[{"Key": "InstanceIds", "Values": [hung.instance_id, fine.instance_id]}]
    )["InstanceInformationList"]
    by_id = {entry["InstanceId"]: entry for entry in listed}
    assert set(by_id) == {hung.instance_id, fine.instance_id}
    assert (by_id[hung.instance_id]["PingStatus"], by_id[hung.instance_id]["PlatformType"]) == (
        "ConnectionLost",
        "Linux",
    )
    assert (by_id[fine.instance_id]["PingStatus"], by_id[fine.instance_id]["PlatformType"]) == ("Online", "Windows")
    old_style = ssm.describe_instance_information(
        InstanceInformationFilterList=[{"key": "InstanceIds", "valueSet": [fine.instance_id]}]
    )["InstanceInformationList"]
    assert [entry["InstanceId"] for entry in old_style] == [fine.instance_id]


def _cancel_error(sandbox: Sandbox, command_id: str, **extra: Any) -> Any:
    with pytest.raises(ClientError) as raised:
        sandbox.client("ssm").cancel_command(CommandId=command_id, **extra)
    return raised.value.response


def test_cancel_stops_a_running_script_like_the_agent(
    sandbox: Sandbox, document: str, crashed: SimulatedInstance
) -> None:
    command_id = _send(sandbox, crashed, document, Label="x", Mode="sleep")
    ssm = sandbox.client("ssm")
    eventually(lambda: ssm.get_command_invocation(CommandId=command_id, InstanceId=crashed.instance_id)["Status"]
               == "InProgress")
    answer = ssm.cancel_command(CommandId=command_id, InstanceIds=[crashed.instance_id])
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert {k: v for k, v in answer.items() if k != "ResponseMetadata"} == {}
    invocation = _finished(sandbox, command_id, crashed)  # well before the script's 30 s sleep ends
    assert (invocation["Status"], invocation["StatusDetails"]) == ("Cancelled", "Cancelled")
    [listed] = ssm.list_command_invocations(CommandId=command_id)["CommandInvocations"]
    assert listed["Status"] == "Cancelled"


def test_cancel_of_a_command_waiting_for_delivery_means_it_never_runs(sandbox: Sandbox, document: str) -> None:
    hung = sandbox.launch_instance(InstanceSpec())
    command_id = _send(sandbox, hung, document, Label="x")
    sandbox.client("ssm").cancel_command(CommandId=command_id)  # no InstanceIds: every instance it went to
    invocation = _finished(sandbox, command_id, hung)
    assert (invocation["Status"], invocation["StandardOutputContent"]) == ("Cancelled", "")


def test_cancel_of_an_ended_command_is_refused_and_changes_nothing(
    sandbox: Sandbox, document: str, crashed: SimulatedInstance
) -> None:
    command_id = _send(sandbox, crashed, document, Label="x")
    assert _finished(sandbox, command_id, crashed)["Status"] == "Success"
    response = _cancel_error(sandbox, command_id, InstanceIds=[crashed.instance_id])
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidCommandId", 400)
    assert _finished(sandbox, command_id, crashed)["Status"] == "Success"


def test_cancel_names_unknown_commands_and_instances_like_aws(
    sandbox: Sandbox, document: str, crashed: SimulatedInstance
) -> None:
    response = _cancel_error(sandbox, "0b8a6c1e-3f0e-4f7a-9d55-2c1b7a9e4d10")
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidCommandId", 400)
    command_id = _send(sandbox, crashed, document, Label="x", Mode="sleep")
    response = _cancel_error(sandbox, command_id, InstanceIds=["i-0123456789abcdef0"])
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidInstanceId", 400)
    sandbox.client("ssm").cancel_command(CommandId=command_id)
    assert _finished(sandbox, command_id, crashed)["Status"] == "Cancelled"


@pytest.fixture
def ssm_events(sandbox: Sandbox) -> Any:
    """Every aws.ssm event on the default bus, read from a queue a rule fills (EventBridge's own route)."""
    sqs, events = sandbox.client("sqs"), sandbox.client("events")
    queue_url = sqs.create_queue(QueueName="sandbox-ssm-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="sandbox-ssm-events", EventPattern=json.dumps({"source": ["aws.ssm"]}))
    events.put_targets(Rule="sandbox-ssm-events", Targets=[{"Id": "q", "Arn": queue_arn}])
    received: list[dict[str, Any]] = []

    def read(command_id: str) -> list[dict[str, Any]]:
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            received.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return [event for event in received if event["detail"]["command-id"] == command_id]

    yield read
    events.remove_targets(Rule="sandbox-ssm-events", Ids=["q"])
    events.delete_rule(Name="sandbox-ssm-events")
    sqs.delete_queue(QueueUrl=queue_url)


def _statuses(events: list[dict[str, Any]], detail_type: str) -> list[str]:
    return [event["detail"]["status"] for event in events if event["detail-type"] == detail_type]


def test_each_status_change_is_an_ssm_event_shaped_as_aws_documents(
    sandbox: Sandbox, document: str, crashed: SimulatedInstance, ssm_events: Any
) -> None:
    command_id = _send(sandbox, crashed, document, Label="events")
    _finished(sandbox, command_id, crashed)
    eventually(lambda: len(ssm_events(command_id)) == 6)
    seen = ssm_events(command_id)
    assert _statuses(seen, "EC2 Command Invocation Status-change Notification") == ["Pending", "InProgress",
                                                                                   "Success"]
    assert _statuses(seen, "EC2 Command Status-change Notification") == ["Pending", "InProgress", "Success"]
    invocation = next(event for event in seen if event["detail-type"].startswith("EC2 Command Invocation"))
    command = next(event for event in seen if event["detail-type"] == "EC2 Command Status-change Notification")
    arn = f"arn:aws:ec2:{REGION}:{ACCOUNT_ID}:instance/"
    assert (invocation["source"], invocation["resources"]) == ("aws.ssm", [arn + crashed.instance_id])
    assert set(invocation["detail"]) == {"command-id", "document-name", "instance-id", "requested-date-time",
                                         "status"}
    assert (invocation["detail"]["instance-id"], invocation["detail"]["document-name"]) == (crashed.instance_id,
                                                                                            document)
    assert set(command["detail"]) == {"command-id", "document-name", "expire-after", "parameters",
                                      "requested-date-time", "status"}
    assert command["detail"]["parameters"]["Label"] == ["events"]
    assert invocation["detail"]["requested-date-time"].endswith("Z")


def test_a_failed_and_a_cancelled_command_end_with_their_status(
    sandbox: Sandbox, document: str, crashed: SimulatedInstance, ssm_events: Any
) -> None:
    failed = _send(sandbox, crashed, document, Label="x", Mode="fail")
    _finished(sandbox, failed, crashed)
    kind = "EC2 Command Invocation Status-change Notification"
    assert eventually(lambda: _statuses(ssm_events(failed), kind)[-1:] == ["Failed"])
    cancelled = _send(sandbox, crashed, document, Label="x", Mode="sleep")
    eventually(lambda: _statuses(ssm_events(cancelled), kind)[-1:] == ["InProgress"])
    sandbox.client("ssm").cancel_command(CommandId=cancelled)
    assert eventually(lambda: _statuses(ssm_events(cancelled), kind)[-2:] == ["Cancelling", "Cancelled"])
