"""A deployed-looking Panic Button inside moto: a CloudFormation stack whose outputs name a real (moto)
state machine and a records table with the stack's key schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
import pytest
from moto import mock_aws

REGION = "us-east-1"
STACK = "PanicButton"
TABLE = "panic-button-records"
STATE_MACHINE = "Remediation"


@dataclass(frozen=True)
class Deployed:
    session: boto3.Session
    state_machine_arn: str
    table_name: str

    def client(self, service: str) -> Any:
        return self.session.client(service)


@pytest.fixture(scope="session")
def _service_models() -> botocore.session.Session:
    """One botocore session for every test: service models load once, not once per test."""
    return botocore.session.get_session()


@pytest.fixture
def aws(_service_models: botocore.session.Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield boto3.Session(botocore_session=_service_models, region_name=REGION)


@pytest.fixture
def deployed(aws: boto3.Session) -> Deployed:
    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=STATE_MACHINE, roleArn="arn:aws:iam::123456789012:role/panic-button-workflow",
        definition=json.dumps({"StartAt": "Begin", "States": {"Begin": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    aws.client("dynamodb").create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"}
                              for name in ("pk", "sk", "gsi1pk", "gsi1sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "by-time",
            "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"},
                          {"AttributeName": "gsi1sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }],
    )
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "StateMachineArn": {"Value": machine},
            "TableName": {"Value": TABLE},
            "EvidenceBucketName": {"Value": "panic-button-evidence"},
            "TopicArn": {"Value": {"Ref": "Topic"}},
        },
    }
    aws.client("cloudformation").create_stack(StackName=STACK, TemplateBody=json.dumps(template))
    return Deployed(session=aws, state_machine_arn=machine, table_name=TABLE)
