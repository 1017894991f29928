"""boto3 clients shared by the logic: standard retry mode (exponential backoff with jitter on throttling
and transient errors) and one client per service per process.

When the SDK's own retries run out on throttling or a server error, the call raises `AwsUnavailable` (a
ClientError with the service's code): the one Step Functions error name every step retries on, so a burst
of throttling costs a retried step, not the rescue."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# Attempts and timeouts fit inside the 30 s step functions; Step Functions retries what outlasts them.
# `total_max_attempts` counts the first attempt; botocore's `max_attempts` counts only the retries.
RETRY_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 4}, connect_timeout=3, read_timeout=15)
# The interrupt is never repeated by the SDK: a retry after a lost response would send a second NMI.
NO_RETRY_CONFIG = RETRY_CONFIG.merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))


# Presigned URLs handed to instances must be SigV4 (required with SSE-KMS and in newer Regions), on the
# bucket's regional host in every Region (us-east-1 too, not s3.amazonaws.com): the collector documents admit
# only https://<bucket>.s3.<region>.<partition suffix>/ (models.collection.manifest_url_pattern).
S3_CONFIG = RETRY_CONFIG.merge(Config(signature_version="s3v4", s3={"addressing_style": "virtual",
                                                                     "us_east_1_regional_endpoint": "regional"}))

# The services' throttling codes (botocore's standard retry mode treats the same ones as throttling).
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "BandwidthLimitExceeded", "RequestThrottled", "SlowDown", "EC2ThrottledException",
})
_SERVER_ERROR = 500


class AwsUnavailable(ClientError):  # type: ignore[misc]  # botocore ships no types
    """The service throttled or failed (5xx) through every SDK attempt; the step is worth running again."""


@cache
def client(service: str) -> Any:
    return _raising_unavailable(boto3.client(service, config=S3_CONFIG if service == "s3" else RETRY_CONFIG))


@cache
def single_attempt_client(service: str) -> Any:
    return _raising_unavailable(boto3.client(service, config=NO_RETRY_CONFIG))


# Organizations hub (docs/organizations.md): the member role's name is this prefix and the member's Region.
MEMBER_ROLE_PREFIX_VARIABLE = "MEMBER_ROLE_PREFIX"
EXECUTION_TAG = "panic-button:execution"  # the member role's trust policy requires it, with the source identity


def member_role_prefix() -> str | None:
    """Set only in an organization hub: then calls for another account or Region go through its member role."""
    return os.environ.get(MEMBER_ROLE_PREFIX_VARIABLE) or None


def member_session(account: str, region: str, *, source_identity: str) -> boto3.Session:
    """A session as the member role of `account` in `region`. The source identity (the execution's name) stays on
    every call the session makes, so the member account's CloudTrail names the rescue."""
    prefix = member_role_prefix()
    if prefix is None:
        raise RuntimeError(f"{MEMBER_ROLE_PREFIX_VARIABLE} is not set: only an organization hub reaches members")
    partition = boto3.session.Session().get_partition_for_region(region)
    credentials = client("sts").assume_role(
        RoleArn=f"arn:{partition}:iam::{account}:role/{prefix}{region}", RoleSessionName=source_identity[:64],
        SourceIdentity=source_identity[:64], Tags=[{"Key": EXECUTION_TAG, "Value": source_identity[:256]}],
    )["Credentials"]
    return boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                         aws_secret_access_key=credentials["SecretAccessKey"],
                         aws_session_token=credentials["SessionToken"], region_name=region)


def member_location(account: str | None, region: str | None, *, function_arn: str) -> tuple[str, str] | None:
    """(account, Region) when an organization hub is asked about another account or Region; None when the
    instance is this function's own (or this is not a hub: a single-account stack never assumes a role)."""
    if member_role_prefix() is None:
        return None
    _, _, _, own_region, own_account, *_ = function_arn.split(":")
    where = (account or own_account, region or own_region)
    return None if where == (own_account, own_region) else where


@dataclass(frozen=True)
class TargetClients:
    """The clients for the calls about one target instance: this account's shared ones, or the member role's
    session, which names the execution (source identity and tag) on every call in the member account."""

    session: boto3.Session | None = None

    @property
    def in_member(self) -> bool:
        return self.session is not None

    def client(self, service: str) -> Any:
        return client(service) if self.session is None else self.session.client(service, config=RETRY_CONFIG)

    def single_attempt_client(self, service: str) -> Any:
        if self.session is None:
            return single_attempt_client(service)
        return self.session.client(service, config=NO_RETRY_CONFIG)


def target_clients(account: str | None, region: str | None, *, function_arn: str, execution_name: str) -> TargetClients:
    member = member_location(account, region, function_arn=function_arn)
    if member is None:
        return TargetClients()
    return TargetClients(member_session(*member, source_identity=execution_name))


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ClientError, or '' for anything else."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def is_throttling(error: Exception) -> bool:
    return error_code(error) in THROTTLING_CODES


def _raising_unavailable(made: Any) -> Any:
    made.meta.events.register("after-call", _raise_unavailable)
    return made


def _raise_unavailable(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
    """botocore's last answer to the call: throttling or a 5xx left after the retries becomes AwsUnavailable."""
    code = str(parsed.get("Error", {}).get("Code", ""))
    if http_response.status_code >= _SERVER_ERROR or code in THROTTLING_CODES:
        raise AwsUnavailable(parsed, model.name)
