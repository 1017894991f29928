"""boto3 clients shared by the logic: standard retry mode (exponential backoff with jitter on throttling
and transient errors) and one client per service per process."""

from __future__ import annotations

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


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ClientError, or '' for anything else."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""
