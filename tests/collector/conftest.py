"""Fixtures for the collector tests: moto S3 (server mode, 127.0.0.1, free port), a bucket with SSE-KMS
by default, a fake instance root, and the shells the Linux collector must run under."""

import logging
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from collector_harness import SHELLS, FaultyProxy, InstanceRoot
from moto.server import ThreadedMotoServer

from panic_button_sandbox.moto_s3 import install_s3_checksums
from panic_button_sandbox.patches import Patches
from panic_button_sandbox.presigning import lambda_like_s3_client as s3_client


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def moto_port() -> Iterator[int]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield port
    server.stop()


@pytest.fixture(autouse=True)
def s3_checksums() -> Iterator[None]:
    """S3's checks the protocol relies on, as the sandbox has them; per test, so moto stays stock for the
    canary tests that may share this process."""
    patches = Patches()
    install_s3_checksums(patches)
    yield
    patches.undo_all()


@pytest.fixture(scope="session")
def s3(moto_port: int) -> Any:
    return s3_client(f"http://127.0.0.1:{moto_port}")


@pytest.fixture(scope="session")
def kms(moto_port: int) -> Any:
    return boto3.client(
        "kms",
        endpoint_url=f"http://127.0.0.1:{moto_port}",
        region_name="us-east-1",
        aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key="secret",
    )


@pytest.fixture(scope="session")
def kms_key_id(kms: Any) -> str:
    key_id: str = kms.create_key(Description="evidence bucket default")["KeyMetadata"]["KeyId"]
    return key_id


@pytest.fixture
def bucket(s3: Any, kms_key_id: str) -> Iterator[str]:
    name = f"evidence-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key_id}}]
        },
    )
    yield name
    # moto keeps objects in memory: free the large ones between tests
    for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    for item in s3.list_objects_v2(Bucket=name).get("Contents", []):
        s3.delete_object(Bucket=name, Key=item["Key"])


@pytest.fixture
def instance(tmp_path: Path) -> InstanceRoot:
    return InstanceRoot(tmp_path / "instance")


@pytest.fixture(params=SHELLS)
def shell(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def proxy(moto_port: int) -> Iterator[FaultyProxy]:
    faulty = FaultyProxy(upstream_port=moto_port)
    faulty.start()
    yield faulty
    faulty.stop()
