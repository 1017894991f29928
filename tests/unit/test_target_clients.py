"""In an organization hub the workflow steps call a member account's instance through the member role, with the
execution's name as the session's source identity and tag; the hub's own instances, and every instance of a
single-account stack, stay on the shared clients (no AssumeRole at all)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from panic_button import aws as panic_aws
from panic_button.handlers import handle_check_eligibility
from panic_button.handlers.step_io import clients_for
from panic_button.models.state import ExecutionRef, RemediationState, Target
from panic_button.settings import Settings

from .support import ACCOUNT, LINUX_AMI, OPT_IN, REGION
from .test_settings import ENVIRONMENT

MEMBER = "222222222222"
OTHER_REGION = "eu-west-1"
ROLE_PREFIX = "PanicButton-Member-"
EXECUTION = "manual-i-0abc1234-20261120T031241"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:PanicButton-CheckEligibility"


@dataclass
class FakeContext:
    function_name: str = "PanicButton-CheckEligibility"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = FUNCTION_ARN
    aws_request_id: str = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def assume_role_requests(aws: None) -> Iterator[list[dict[str, Any]]]:
    """Every AssumeRole request the step's STS client sends (the shared clients are made inside moto)."""
    panic_aws.client.cache_clear()
    panic_aws.single_attempt_client.cache_clear()
    requests: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        requests.append(dict(params))

    panic_aws.client("sts").meta.events.register("provide-client-params.sts.AssumeRole", record)
    yield requests
    panic_aws.client.cache_clear()
    panic_aws.single_attempt_client.cache_clear()


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMBER_ROLE_PREFIX", ROLE_PREFIX)


def state(*, account: str | None, region: str | None, instance_id: str = "i-0abc1234") -> RemediationState:
    target = Target(instance_id=instance_id, reason="hung", dry_run=False, trigger="manual",
                    requested_at=datetime(2026, 11, 20, 3, 12, 41, tzinfo=UTC), account=account, region=region)
    return RemediationState(execution=ExecutionRef(id=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:pb:{EXECUTION}"),
                            target=target)


def member_ec2(account: str, region: str) -> Any:
    """The member account's EC2, as the test sets it up (moto keeps each account's resources apart)."""
    credentials = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{ROLE_PREFIX}{region}", RoleSessionName="test-setup")["Credentials"]
    return boto3.client("ec2", region_name=region, aws_access_key_id=credentials["AccessKeyId"],
                        aws_secret_access_key=credentials["SecretAccessKey"],
                        aws_session_token=credentials["SessionToken"])


def launch(ec2: Any) -> str:
    tags = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in OPT_IN.items()]}]
    return str(ec2.run_instances(ImageId=LINUX_AMI, InstanceType="m5.large", MinCount=1, MaxCount=1,
                                 TagSpecifications=tags)["Instances"][0]["InstanceId"])


def test_a_single_account_stack_never_assumes_a_role(assume_role_requests: list[dict[str, Any]]) -> None:
    clients = clients_for(state(account=MEMBER, region=OTHER_REGION), FUNCTION_ARN)

    assert not clients.in_member
    assert clients.client("ec2") is panic_aws.client("ec2")
    assert clients.single_attempt_client("ec2") is panic_aws.single_attempt_client("ec2")
    assert panic_aws.single_attempt_client("ec2").meta.config.retries["total_max_attempts"] == 1  # never a second NMI
    assert assume_role_requests == []


@pytest.mark.parametrize(("account", "region"), [(None, None), (ACCOUNT, REGION), (ACCOUNT, None), (None, REGION)])
def test_the_hubs_own_instances_stay_on_its_own_clients(hub: None, assume_role_requests: list[dict[str, Any]],
                                                        account: str | None, region: str | None) -> None:
    clients = clients_for(state(account=account, region=region), FUNCTION_ARN)

    assert clients.client("ssm") is panic_aws.client("ssm")
    assert assume_role_requests == []


@pytest.mark.parametrize(("account", "region"), [(MEMBER, REGION), (MEMBER, OTHER_REGION), (ACCOUNT, OTHER_REGION)])
def test_another_account_or_region_goes_through_its_member_role_named_for_the_execution(
        hub: None, assume_role_requests: list[dict[str, Any]], account: str, region: str) -> None:
    clients = clients_for(state(account=account, region=region), FUNCTION_ARN)

    assert clients.in_member
    assert clients.client("ec2").meta.region_name == region
    assert clients.single_attempt_client("ec2").meta.config.retries["total_max_attempts"] == 1  # never a second NMI
    assert [(r["RoleArn"], r["SourceIdentity"], r["Tags"]) for r in assume_role_requests] == [
        (f"arn:aws:iam::{account}:role/{ROLE_PREFIX}{region}", EXECUTION,
         [{"Key": "panic-button:execution", "Value": EXECUTION}])]


def test_check_eligibility_finds_a_member_instance_in_the_member_account(
        hub: None, assume_role_requests: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    instance_id = launch(member_ec2(MEMBER, REGION))
    event = state(account=MEMBER, region=REGION, instance_id=instance_id).model_dump(mode="json")

    facts = handle_check_eligibility.lambda_handler(event, FakeContext())

    assert (facts["instance_id"], facts["state"]) == (instance_id, "running")
    assert [r["SourceIdentity"] for r in assume_role_requests] == [EXECUTION]
    # The same instance ID is unknown in the hub: the lookup did not happen there.
    assert panic_aws.client("ec2").describe_instances()["Reservations"] == []


def test_a_member_instance_runs_the_members_own_documents() -> None:
    settings = Settings.model_validate({**ENVIRONMENT, "MEMBER_LINUX_DOCUMENT": "PanicButton-Collector-Linux",
                                        "MEMBER_WINDOWS_DOCUMENT": "PanicButton-Collector-Windows"})

    assert settings.document_for("linux") == ENVIRONMENT["LINUX_DOCUMENT"]
    assert settings.document_for("linux", in_member=True) == "PanicButton-Collector-Linux"
    assert settings.document_for("windows", in_member=True) == "PanicButton-Collector-Windows"


def test_a_hub_without_the_member_document_names_refuses_a_member_instance() -> None:
    with pytest.raises(ValueError, match="MEMBER_LINUX_DOCUMENT"):
        Settings.model_validate(ENVIRONMENT).document_for("linux", in_member=True)
