"""Dumps only for named principals, through the sandbox's IAM evaluation of the deployed bucket policy and
dump key: an account administrator (s3:* and kms:* in IAM) reads no dump, and the dump key gives it no
decryption even outside the bucket policy's dump prefix; TriageDump, a named reader, reads the dump."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from panic_button_cli.simulation import simulate
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.instances import InstanceSpec
from panic_button_sandbox.sandbox import Sandbox

Deployed = tuple[Sandbox, Deployment]
MANUAL = [("input", '{"instance_id": "${INSTANCE_ID}", "reason": "dump readers"}')]
ADMIN = "panic-button-test-account-admin"


def _role(sandbox: Sandbox, name: str, statements: list[dict[str, Any]]) -> str:
    iam = sandbox.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="admin", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": statements}))
    return arn


def _s3_as(sandbox: Sandbox, session: str, role_arn: str) -> Any:
    with sandbox.iam.running_as(session, role_arn):  # a client made inside is authorized as that role
        return boto3.client("s3", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")


def _denied(s3: Any, bucket: str, key: str) -> str:
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket=bucket, Key=key)
    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    return str(raised.value.response["Error"]["Message"])


def test_an_account_admin_without_the_key_grant_cannot_read_a_dump(deployed: Deployed) -> None:
    sandbox, deployment = deployed
    result = simulate(sandbox, deployment, InstanceSpec(crash_layout="rhel"), MANUAL).results[0]
    assert result.outcome == "DUMP_COLLECTED", result.reason
    bucket = deployment.outputs["EvidenceBucketName"]
    [dump_key] = [a.s3_uri.split("/", 3)[3] for a in result.artifacts if a.s3_uri.endswith("/dump/vmcore")]
    admin = _s3_as(sandbox, "someone", _role(sandbox, ADMIN, [
        {"Effect": "Allow", "Action": ["s3:*", "kms:*"], "Resource": "*"}]))

    assert "DumpsOnlyForNamedPrincipals" not in _denied(admin, bucket, dump_key)  # AWS names no Sid
    assert "explicit deny in a resource-based policy" in _denied(admin, bucket, dump_key)
    # Outside the bucket policy's dump prefix, the key alone decides: its policy gives the account no use.
    dump_kms_key = sandbox.client("s3").head_object(Bucket=bucket, Key=dump_key)["SSEKMSKeyId"]
    outside = dump_key.replace("/dump/", "/not-a-dump/")
    sandbox.client("s3").put_object(Bucket=bucket, Key=outside, Body=b"under the dump key",
                                    ServerSideEncryption="aws:kms", SSEKMSKeyId=dump_kms_key)
    assert "no resource-based policy allows the kms:Decrypt action" in _denied(admin, bucket, outside)

    # A named reader does read it: the Deny spares the roles the key policy names.
    [triage] = [f for f in deployment.functions if f.handler.endswith(".handle_triage_dump.lambda_handler")]
    role_arn = sandbox.client("lambda").get_function(FunctionName=triage.function_name)["Configuration"]["Role"]
    body = _s3_as(sandbox, triage.function_name, role_arn).get_object(Bucket=bucket, Key=dump_key)["Body"].read()
    assert len(body) == result.artifacts[[a.s3_uri for a in result.artifacts].index(f"s3://{bucket}/{dump_key}")].bytes
