"""The sandbox's S3 checksum checks (panic_button_sandbox/moto_s3.py) answer as S3 does."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from panic_button_sandbox.moto_s3 import install_s3_checksums
from panic_button_sandbox.patches import Patches
from panic_button_sandbox.presigning import lambda_like_s3_client
from panic_button_sandbox.server import LocalAws
from tests.presigned_put import put


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    aws, patches = LocalAws(), Patches()
    install_s3_checksums(patches)
    aws.start()
    yield lambda_like_s3_client(aws.endpoint_url)  # SigV4, as the Lambdas presign
    aws.stop()
    patches.undo_all()


def _sha256(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def test_bad_digest_unsigned_and_missing_headers_and_the_composite(s3: Any) -> None:
    s3.create_bucket(Bucket="checks")
    upload_id = s3.create_multipart_upload(Bucket="checks", Key="dump", ChecksumAlgorithm="SHA256")["UploadId"]
    with pytest.raises(ClientError) as raised:
        s3.upload_part(Bucket="checks", Key="dump", UploadId=upload_id, PartNumber=1, Body=b"x",
                       ChecksumSHA256=_sha256(b"y"))
    assert (raised.value.response["Error"]["Code"], raised.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "BadDigest", 400)
    url = s3.generate_presigned_url("upload_part", Params={"Bucket": "checks", "Key": "dump", "UploadId": upload_id,
                                                           "PartNumber": 1, "ChecksumSHA256": _sha256(b"x")})
    status, body = put(url, b"x", {"x-amz-checksum-sha256": _sha256(b"x"), "x-amz-checksum-crc32": "AAAAAA=="})
    assert status == 403 and "<Code>AccessDenied</Code>" in body
    assert "<HeadersNotSigned>x-amz-checksum-crc32</HeadersNotSigned>" in body
    status, body = put(url, b"x", {})
    assert status == 403 and "<Code>SignatureDoesNotMatch</Code>" in body
    assert put(url, b"x", {"x-amz-checksum-sha256": _sha256(b"x")})[0] == 200
    etag = s3.list_parts(Bucket="checks", Key="dump", UploadId=upload_id)["Parts"][0]["ETag"]
    completed = s3.complete_multipart_upload(
        Bucket="checks", Key="dump", UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag, "ChecksumSHA256": _sha256(b"x")}]})
    composite = base64.b64encode(hashlib.sha256(hashlib.sha256(b"x").digest()).digest()).decode()
    assert completed["ChecksumSHA256"] == f"{composite}-1"
