"""boto3 clients shared by the logic: standard retry mode (exponential backoff with jitter on throttling
and transient errors) and one client per service per process."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Attempts and timeouts fit inside the 30 s step functions; Step Functions retries what outlasts them.
RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=15)
# The interrupt is never repeated by the SDK: a retry after a lost response would send a second NMI.
NO_RETRY_CONFIG = RETRY_CONFIG.merge(Config(retries={"mode": "standard", "max_attempts": 1}))


# Presigned URLs handed to instances must be SigV4 (required with SSE-KMS and in newer Regions).
S3_CONFIG = RETRY_CONFIG.merge(Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=S3_CONFIG if service == "s3" else RETRY_CONFIG)


@cache
def single_attempt_client(service: str) -> Any:
    return boto3.client(service, config=NO_RETRY_CONFIG)


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


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ClientError, or '' for anything else."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""
