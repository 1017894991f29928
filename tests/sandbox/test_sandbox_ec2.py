"""EC2 through the sandbox: diagnostic interrupts, console, screenshot, status checks, reboots."""

from __future__ import annotations

import base64
import struct

import pytest
from botocore.exceptions import ClientError
from sandbox_support import eventually

from panic_button_sandbox import InstanceSpec, Sandbox


def _status(sandbox: Sandbox, instance_id: str) -> str:
    [status] = sandbox.client("ec2").describe_instance_status(InstanceIds=[instance_id])["InstanceStatuses"]
    result: str = status["InstanceStatus"]["Status"]
    return result


def _error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    code: str = error.value.response["Error"]["Code"]
    return code


def test_interrupt_honours_dry_run_without_touching_the_instance(sandbox: Sandbox) -> None:
    instance = sandbox.launch_instance()
    with pytest.raises(ClientError) as raised:
        sandbox.client("ec2").send_diagnostic_interrupt(InstanceId=instance.instance_id, DryRun=True)
    assert _error_code(raised) == "DryRunOperation"
    assert sandbox.interrupt_count(instance.instance_id) == 0


@pytest.mark.parametrize("instance_type", ["t2.micro", "m4.large", "a1.large", "m7g.large", "m6g.metal", "mac1.metal"])
def test_interrupt_is_unsupported_on_xen_graviton_and_mac(sandbox: Sandbox, instance_type: str) -> None:
    instance = sandbox.launch_instance(InstanceSpec(instance_type=instance_type))
    with pytest.raises(ClientError) as raised:
        sandbox.client("ec2").send_diagnostic_interrupt(InstanceId=instance.instance_id)
    assert _error_code(raised) == "UnsupportedOperation"
    assert sandbox.interrupt_count(instance.instance_id) == 0


def test_interrupt_works_on_bare_metal(sandbox: Sandbox) -> None:
    instance = sandbox.launch_instance(InstanceSpec(instance_type="m5.metal"))
    sandbox.client("ec2").send_diagnostic_interrupt(InstanceId=instance.instance_id)
    assert sandbox.interrupt_count(instance.instance_id) == 1


def test_interrupt_to_unknown_instance(sandbox: Sandbox) -> None:
    with pytest.raises(ClientError) as raised:
        sandbox.client("ec2").send_diagnostic_interrupt(InstanceId="i-0000000000000dead")
    assert _error_code(raised) == "InvalidInstanceID.NotFound"


def test_interrupt_to_stopped_instance(sandbox: Sandbox) -> None:
    instance = sandbox.launch_instance(InstanceSpec(state="stopped"))
    with pytest.raises(ClientError) as raised:
        sandbox.client("ec2").send_diagnostic_interrupt(InstanceId=instance.instance_id)
    assert _error_code(raised) == "IncorrectInstanceState"


def test_interrupt_panics_the_instance_which_comes_back(sandbox: Sandbox) -> None:
    ec2 = sandbox.client("ec2")
    instance = sandbox.launch_instance(InstanceSpec(reboot_seconds=600))  # 0.6 s at the test scale
    assert _status(sandbox, instance.instance_id) == "impaired"
    ec2.send_diagnostic_interrupt(InstanceId=instance.instance_id)
    ec2.send_diagnostic_interrupt(InstanceId=instance.instance_id)  # lands in the kdump kernel: counted only
    assert sandbox.interrupt_count(instance.instance_id) == 2
    assert len(list((instance.root / "var/crash").iterdir())) == 1
    console = ec2.get_console_output(InstanceId=instance.instance_id, Latest=True)["Output"]
    assert "Kernel panic - not syncing: NMI: Not continuing" in console
    eventually(lambda: _status(sandbox, instance.instance_id) == "ok")


def test_console_output_is_per_instance_and_latest_differs_from_buffered(sandbox: Sandbox) -> None:
    ec2 = sandbox.client("ec2")
    hung = sandbox.launch_instance(InstanceSpec(crash_layout="debian"))
    fine = sandbox.launch_instance(InstanceSpec(impaired=False, crash_layout="amazon-linux"))
    latest = ec2.get_console_output(InstanceId=hung.instance_id, Latest=True)["Output"]
    buffered = ec2.get_console_output(InstanceId=hung.instance_id)["Output"]
    other = ec2.get_console_output(InstanceId=fine.instance_id, Latest=True)["Output"]
    assert "blocked for more than 120 seconds" in latest
    assert "blocked for more than" not in buffered and "6.1.0-25-cloud-amd64" in buffered
    assert "amzn2023" in other and "blocked for more than" not in other


def test_console_screenshot_is_a_jpeg(sandbox: Sandbox) -> None:
    instance = sandbox.launch_instance()
    image = sandbox.client("ec2").get_console_screenshot(InstanceId=instance.instance_id)["ImageData"]
    data = base64.b64decode(image)
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    markers = _jpeg_markers(data)
    assert {"APP0", "DQT", "SOF0", "DHT", "SOS"} <= set(markers)
    width, height = markers["SOF0"]
    assert (width, height) == (64, 32)


def _jpeg_markers(data: bytes) -> dict[str, tuple[int, int]]:
    """Walk the JPEG segments up to the scan; SOF0 gives (width, height)."""
    names = {0xE0: "APP0", 0xDB: "DQT", 0xC0: "SOF0", 0xC4: "DHT", 0xDA: "SOS"}
    found: dict[str, tuple[int, int]] = {}
    offset = 2
    while offset < len(data):
        assert data[offset] == 0xFF
        marker = data[offset + 1]
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        segment = data[offset + 4 : offset + 2 + length]
        if marker == 0xC0:
            height, width = struct.unpack(">HH", segment[1:5])
            found["SOF0"] = (width, height)
        elif marker in names:
            found[names[marker]] = (0, 0)
        if marker == 0xDA:
            break
        offset += 2 + length
    return found


def test_instance_status_include_all_instances(sandbox: Sandbox) -> None:
    ec2 = sandbox.client("ec2")
    stopped = sandbox.launch_instance(InstanceSpec(state="stopped"))
    assert ec2.describe_instance_status(InstanceIds=[stopped.instance_id])["InstanceStatuses"] == []
    [status] = ec2.describe_instance_status(InstanceIds=[stopped.instance_id], IncludeAllInstances=True)[
        "InstanceStatuses"
    ]
    assert status["InstanceState"]["Name"] == "stopped"
    assert status["InstanceStatus"]["Status"] == "not-applicable"


def test_impaired_status_reports_failed_reachability_since_the_hang(sandbox: Sandbox) -> None:
    instance = sandbox.launch_instance()
    [status] = sandbox.client("ec2").describe_instance_status(InstanceIds=[instance.instance_id])["InstanceStatuses"]
    [detail] = status["InstanceStatus"]["Details"]
    assert detail["Status"] == "failed" and "ImpairedSince" in detail
    assert status["SystemStatus"]["Status"] == "ok"


def test_reboot_instances_restarts_a_hung_instance(sandbox: Sandbox) -> None:
    instance = sandbox.launch_instance(InstanceSpec(reboot_seconds=300))
    sandbox.client("ec2").reboot_instances(InstanceIds=[instance.instance_id])
    assert _status(sandbox, instance.instance_id) == "impaired"
    eventually(lambda: _status(sandbox, instance.instance_id) == "ok")
    assert sandbox.interrupt_count(instance.instance_id) == 0


def test_launch_applies_type_tags_and_platform(sandbox: Sandbox) -> None:
    instance = sandbox.launch_instance(InstanceSpec(instance_type="c5.large", platform="windows", tags={"a": "b"}))
    [reservation] = sandbox.client("ec2").describe_instances(InstanceIds=[instance.instance_id])["Reservations"]
    [described] = reservation["Instances"]
    assert described["InstanceType"] == "c5.large"
    assert described["Tags"] == [{"Key": "a", "Value": "b"}]
    assert described["Platform"] == "windows"
