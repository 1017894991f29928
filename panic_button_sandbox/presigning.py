"""An S3 client that presigns as the Lambdas do: their S3 config (SigV4) and session credentials, so
every presigned URL carries a security token, as one signed with a Lambda role does."""

from __future__ import annotations

from typing import Any

import boto3
from panic_button.aws import S3_CONFIG


def lambda_like_s3_client(endpoint_url: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="FwoGZXIvYXdzE+token/with=chars",  # the characters a real token has
        config=S3_CONFIG,
    )
