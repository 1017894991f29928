"""After NOT_RECOVERED: the configured fallback, `none` or `reboot`."""

from __future__ import annotations

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


def test_reboot_asks_ec2_to_reboot_the_instance(stubbed: Any) -> None:
    ec2, stubber = stubbed
    stubber.add_response("reboot_instances", {}, {"InstanceIds": [INSTANCE]})

    fallback = apply_fallback(ec2, INSTANCE, "reboot")

    assert fallback.action == "reboot"
    assert INSTANCE in fallback.detail


def test_none_leaves_the_instance_to_a_human(stubbed: Any) -> None:
    ec2, _ = stubbed  # a call to EC2 would fail: nothing is scripted

    fallback = apply_fallback(ec2, INSTANCE, "none")

    assert fallback.action == "none"
    assert "human" in fallback.detail

