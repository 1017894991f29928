"""Unit-test fixtures: fake credentials, no network beyond loopback, and AWS emulated in-process by moto.

Where moto lacks an API, tests put a botocore Stubber on a real client instead: it scripts what AWS
answers, and the test checks how our code maps that answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from panic_button.dal.table_keys import RECORD_INDEX
from sample_events import ALARM_STATE_CHANGE

from .support import (
    BUCKET,
    HERE,
    LINUX_AMI,
    OPT_IN,
    REGION,
    TABLE_NAME,
    aws_client,
    emulated_aws,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # pytest-socket: unit tests may connect to loopback only (moto runs in-process and needs none).
    for item in items:
        if Path(str(item.path)).is_relative_to(HERE):
            item.add_marker(pytest.mark.allow_hosts(["127.0.0.1"]))


@pytest.fixture(autouse=True)
def fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):  # set by sandbox runs; they would lead clients elsewhere
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # moto loads ~1300 default AMIs into every fresh EC2 backend (a quarter second); tests launch from fixed ids.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


@pytest.fixture
def aws() -> Iterator[None]:
    with emulated_aws():
        yield


@pytest.fixture
def ec2(aws: None) -> Any:
    return aws_client("ec2")


@pytest.fixture
def s3(aws: None) -> Any:
    client = aws_client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def dynamodb(aws: None) -> Any:
    """The remediation table in the shape infra/constructs/remediation_table.py deploys."""
    client = aws_client("dynamodb")
    client.create_table(
        TableName=TABLE_NAME,
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"}
                              for name in ("pk", "sk", "gsi1pk", "gsi1sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{
            "IndexName": RECORD_INDEX,
            "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"},
                          {"AttributeName": "gsi1sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


@pytest.fixture
def launch(ec2: Any) -> Callable[..., str]:
    """Start an instance and return its ID; opted in and on a Nitro type unless told otherwise."""

    def launch_instance(*, tags: dict[str, str] | None = None, instance_type: str = "m5.large",
                        image_id: str = LINUX_AMI) -> str:
        tags = OPT_IN if tags is None else tags
        spec = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
        response = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, InstanceType=instance_type,
                                     TagSpecifications=spec if tags else [])
        return str(response["Instances"][0]["InstanceId"])

    return launch_instance


@pytest.fixture
def alarm_event() -> dict[str, Any]:
    """The real EventBridge alarm event; each test gets its own copy to derive variants from."""
    event: dict[str, Any] = json.loads(ALARM_STATE_CHANGE.read_text())
    return event
