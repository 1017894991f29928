"""Constants and small builders the unit tests share."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import Stubber
from moto import mock_aws
from panic_button.models.state import RemediationState

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

REGION = "us-east-1"
ACCOUNT = "123456789012"
TABLE_NAME = "panic-button-unit"
BUCKET = "panic-button-evidence-unit"
LINUX_AMI = "ami-12345678"
WINDOWS_AMI = "ami-03cf127a"  # one of moto's bundled Windows images; launching it needs no describe_images
OPT_IN = {"PanicButton": "enabled"}
NOW = datetime(2026, 11, 20, 3, 12, 41, tzinfo=UTC)
INSTANCE = "i-0abc1234def567890"
OTHER_INSTANCE = "i-0fedcba9876543210"


# moto patches boto3's default session away while it runs, so every boto3.client() call would load the
# service models again (half a second for EC2). One session built after moto is imported is fast and mocked.
SESSION = boto3.session.Session(region_name=REGION, aws_access_key_id="testing",
                                aws_secret_access_key="testing", aws_session_token="testing")
emulated_aws = mock_aws


@cache
def aws_client(service: str) -> Any:
    """A client of the shared session, one per service: moto answers it inside `emulated_aws()`, a Stubber
    (activated and removed by each test) otherwise. Clients hold no state of their own, so sharing is safe."""
    return SESSION.client(service)


def execution_arn(name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:PanicButton-Remediation:{name}"


def target_part(instance_id: str = INSTANCE, *, dry_run: bool = False, requested_at: datetime = NOW,
                trigger: str = "manual", alarm_name: str | None = None) -> dict[str, Any]:
    return {"instance_id": instance_id, "reason": "status check failed", "dry_run": dry_run, "trigger": trigger,
            "alarm_name": alarm_name, "requested_at": requested_at.isoformat()}


def remediation_state(execution_name: str = "run-1", **parts: Any) -> RemediationState:
    """A state document as Step Functions would carry it, with the parts given."""
    document = {"execution": {"id": execution_arn(execution_name), "name": execution_name}, **parts}
    return RemediationState.model_validate(document)


def scan_all(dynamodb: Any) -> list[dict[str, Any]]:
    return list(dynamodb.scan(TableName=TABLE_NAME, ConsistentRead=True)["Items"])


def client_error(stubber: Stubber, method: str, code: str, message: str = "scripted by the test") -> None:
    stubber.add_client_error(method, service_error_code=code, service_message=message, http_status_code=400)
