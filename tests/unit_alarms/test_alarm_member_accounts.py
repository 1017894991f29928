"""In an organization hub the alarm manager keeps each member account's alarms in that account, through the
member role, with its source identity on the session; this account's own events stay on its own clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from panic_button import aws as panic_aws
from panic_button.handlers.handle_manage_alarms import ALARM_MANAGER_IDENTITY

from tests.unit_alarms.conftest import AMI, OPT_IN_KEY, OPT_IN_VALUE, PREFIX, REGION, Aws, state_change_event

Invoke = Callable[[dict[str, Any]], dict[str, Any]]
MEMBER = "222222222222"
ROLE_PREFIX = "PanicButton-Member-"


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, aws: Aws) -> Iterator[list[dict[str, Any]]]:
    """The hub's environment, and every AssumeRole request the hub's STS client sends."""
    monkeypatch.setenv("MEMBER_ROLE_PREFIX", ROLE_PREFIX)
    requests: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        requests.append(dict(params))

    sts = panic_aws.client("sts")
    sts.meta.events.register("provide-client-params.sts.AssumeRole", record)
    yield requests
    sts.meta.events.unregister("provide-client-params.sts.AssumeRole", record)


def member_clients() -> tuple[Any, Any]:
    credentials = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{MEMBER}:role/{ROLE_PREFIX}{REGION}", RoleSessionName="test-setup")["Credentials"]
    session = boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                            aws_secret_access_key=credentials["SecretAccessKey"],
                            aws_session_token=credentials["SessionToken"], region_name=REGION)
    return session.client("ec2"), session.client("cloudwatch")


def test_a_member_instance_gets_its_alarm_in_the_member_account(aws: Aws, invoke: Invoke,
                                                                hub: list[dict[str, Any]]) -> None:
    ec2, cloudwatch = member_clients()
    tags = [{"ResourceType": "instance", "Tags": [{"Key": OPT_IN_KEY, "Value": OPT_IN_VALUE}]}]
    instance_id = ec2.run_instances(ImageId=AMI, InstanceType="m5.large", MinCount=1, MaxCount=1,
                                    TagSpecifications=tags)["Instances"][0]["InstanceId"]
    event = {**state_change_event(instance_id, "running"), "account": MEMBER}
    result = invoke(event)
    assert result["created"] == [f"{PREFIX}{instance_id}"]
    assert [alarm["AlarmName"] for alarm in cloudwatch.describe_alarms()["MetricAlarms"]] == result["created"]
    assert aws.alarms() == {}  # nothing in the hub's own account
    assert [(r["RoleArn"], r["SourceIdentity"], r["Tags"]) for r in hub] == [
        (f"arn:aws:iam::{MEMBER}:role/{ROLE_PREFIX}{REGION}", ALARM_MANAGER_IDENTITY,
         [{"Key": "panic-button:execution", "Value": ALARM_MANAGER_IDENTITY}])]


def test_the_hubs_own_events_use_its_own_clients(aws: Aws, invoke: Invoke, hub: list[dict[str, Any]]) -> None:
    (instance_id,) = aws.launch(tags={OPT_IN_KEY: OPT_IN_VALUE})
    assert invoke(state_change_event(instance_id, "running"))["created"] == [f"{PREFIX}{instance_id}"]
    assert list(aws.alarms()) == [f"{PREFIX}{instance_id}"]
    assert hub == []


def test_without_the_hub_setting_a_foreign_account_event_is_not_forwarded(aws: Aws, invoke: Invoke) -> None:
    # A single-account stack never assumes a role: the event's instance is looked up in this account only.
    (instance_id,) = aws.launch(tags={OPT_IN_KEY: OPT_IN_VALUE})
    result = invoke({**state_change_event(instance_id, "running"), "account": MEMBER})
    assert result["created"] == [f"{PREFIX}{instance_id}"]
