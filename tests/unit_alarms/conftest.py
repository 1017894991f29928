"""Fixtures for the alarm manager: AWS emulated in-process by moto, an API-call counter on each client,
and EventBridge payloads shaped like the ones AWS delivers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from panic_button.handlers import handle_manage_alarms
from panic_button.models.alarms import AlarmSettings

REGION = "us-east-1"
ACCOUNT = "123456789012"
PREFIX = "panic-button-"
OPT_IN_KEY, OPT_IN_VALUE = "PanicButton", "enabled"
AMI = "ami-12c6146b"  # an image moto's EC2 backend ships with
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:  # pytest-socket: moto runs in-process; nothing here needs the network
        if Path(str(item.path)).is_relative_to(HERE):
            item.add_marker(pytest.mark.allow_hosts(["127.0.0.1"]))


@pytest.fixture(autouse=True)
def fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                        "AWS_EC2_METADATA_DISABLED": "true", "OPT_IN_TAG_KEY": OPT_IN_KEY,
                        "OPT_IN_TAG_VALUE": OPT_IN_VALUE, "ALARM_NAME_PREFIX": PREFIX,
                        "POWERTOOLS_METRICS_NAMESPACE": "PanicButton", "POWERTOOLS_TRACE_DISABLED": "true",
                        }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("EXTRA_INSTANCE_IDS", raising=False)


@dataclass
class Aws:
    ec2: Any
    cloudwatch: Any
    calls: Counter[str]

    def launch(self, count: int = 1, tags: dict[str, str] | None = None, instance_type: str = "m5.large") -> list[str]:
        spec = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}] if tags else []
        reservation = self.ec2.run_instances(ImageId=AMI, InstanceType=instance_type, MinCount=count, MaxCount=count,
                                             TagSpecifications=spec)
        return [instance["InstanceId"] for instance in reservation["Instances"]]

    def alarms(self) -> dict[str, dict[str, Any]]:
        pages = self.cloudwatch.get_paginator("describe_alarms").paginate()
        return {alarm["AlarmName"]: alarm for page in pages for alarm in page["MetricAlarms"]}

    def alarm_tags(self, name: str) -> dict[str, str]:
        arn = self.alarms()[name]["AlarmArn"]
        return {t["Key"]: t["Value"] for t in self.cloudwatch.list_tags_for_resource(ResourceARN=arn)["Tags"]}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with mock_aws():
        calls: Counter[str] = Counter()

        def count(model: Any, **_: Any) -> None:
            calls[model.name] += 1

        clients = {name: boto3.client(name, region_name=REGION) for name in ("ec2", "cloudwatch")}
        for made in clients.values():
            made.meta.events.register("before-call", count)
        monkeypatch.setattr(handle_manage_alarms, "client", lambda service: clients[service])
        yield Aws(ec2=clients["ec2"], cloudwatch=clients["cloudwatch"], calls=calls)


@dataclass
class FakeContext:
    function_name: str = "manage_alarms"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:manage_alarms"
    aws_request_id: str = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def invoke() -> Callable[[dict[str, Any]], dict[str, Any]]:
    def run(event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = handle_manage_alarms.lambda_handler(event, FakeContext())
        return result
    return run


def settings(**overrides: Any) -> AlarmSettings:
    values = {"OPT_IN_TAG_KEY": OPT_IN_KEY, "OPT_IN_TAG_VALUE": OPT_IN_VALUE, "ALARM_NAME_PREFIX": PREFIX,
              **overrides}
    return AlarmSettings.model_validate(values)


def _envelope(source: str, detail_type: str, resources: list[str], detail: dict[str, Any]) -> dict[str, Any]:
    return {"version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602", "detail-type": detail_type,
            "source": source, "account": ACCOUNT, "time": "2025-06-01T12:00:00Z", "region": REGION,
            "resources": resources, "detail": detail}


def instance_arn(instance_id: str) -> str:
    return f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance_id}"


def state_change_event(instance_id: str, state: str) -> dict[str, Any]:
    """As documented for "EC2 Instance State-change Notification"."""
    return _envelope("aws.ec2", "EC2 Instance State-change Notification", [instance_arn(instance_id)],
                     {"instance-id": instance_id, "state": state})


def tag_change_event(instance_id: str, changed: list[str], tags: dict[str, str]) -> dict[str, Any]:
    """As documented for aws.tag "Tag Change on Resource": the full tag set after the change."""
    return _envelope("aws.tag", "Tag Change on Resource", [instance_arn(instance_id)],
                     {"changed-tag-keys": changed, "service": "ec2", "resource-type": "instance", "version": 2,
                      "tags": tags})


def scheduled_event() -> dict[str, Any]:
    return _envelope("aws.events", "Scheduled Event", [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/reconcile"], {})
