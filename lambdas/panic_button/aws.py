"""boto3 clients shared by the logic: standard retry mode (exponential backoff with jitter on throttling
and transient errors) and one client per service per process."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, connect_timeout=5, read_timeout=60)


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=RETRY_CONFIG)


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ClientError, or '' for anything else."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""
