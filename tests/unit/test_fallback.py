"""After NOT_RECOVERED: the configured fallback, `none` or `reboot`."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from botocore.stub import Stubber
from panic_button.logic.fallback import apply_fallback

from .support import INSTANCE, aws_client


@pytest.fixture
def stubbed() -> Any:
    client = aws_client("ec2")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


HUNG_CONSOLE = "[ 2400.1] INFO: task mysqld:2871 blocked for more than 120 seconds.\n"
KDUMP_CONSOLE = ("[    0.000000] Command line: BOOT_IMAGE=/vmlinuz elfcorehdr=0x7f000000 irqpoll nr_cpus=1\n"
                 "kdump: saving vmcore-dmesg.txt to /sysroot//var/crash/127.0.0.1-2026-11-20-03:13:00/\n"
                 "kdump: saving vmcore\nCopying data                                      : [ 37.2 %] |\n")


def console(stubber: Stubber, text: str) -> None:
    # EC2 answers base64; botocore decodes it before our code sees it, as it does for the stub.
    encoded = base64.b64encode(text.encode()).decode()
    stubber.add_response("get_console_output", {"InstanceId": INSTANCE, "Output": encoded},
                         {"InstanceId": INSTANCE, "Latest": True})


def test_reboot_asks_ec2_to_reboot_the_instance(stubbed: Any) -> None:
    ec2, stubber = stubbed
    console(stubber, HUNG_CONSOLE)
    stubber.add_response("reboot_instances", {}, {"InstanceIds": [INSTANCE]})

    fallback = apply_fallback(ec2, INSTANCE, "reboot")

    assert fallback.action == "reboot"
    assert INSTANCE in fallback.detail


def test_none_leaves_the_instance_to_a_human(stubbed: Any) -> None:
    ec2, _ = stubbed  # a call to EC2 would fail: nothing is scripted

    fallback = apply_fallback(ec2, INSTANCE, "none")

    assert fallback.action == "none"
    assert "human" in fallback.detail



def test_no_reboot_while_kdump_is_still_saving_the_dump(stubbed: Any) -> None:
    ec2, stubber = stubbed
    console(stubber, HUNG_CONSOLE + KDUMP_CONSOLE)  # no reboot_instances scripted: calling it would fail

    fallback = apply_fallback(ec2, INSTANCE, "reboot")

    assert fallback.action == "none"
    assert "kdump still saving" in fallback.detail
