"""The S3 calls the collection modules share: presigning (SigV4 only), capped reads, encryption."""

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

from botocore.exceptions import ClientError

from panic_button.errors import CollectionFailed

S3Client = Any  # boto3's S3 client; boto3 ships no type stubs here
# A result holds at most 10,000 part lines (~80 characters each); anything far beyond is hostile.
RESULT_READ_LIMIT = 2 * 1024 * 1024
S3_DMESG_LIMIT = 64 * 1024 * 1024  # a kernel log buffer is at most a few MiB


def presign(s3: S3Client, operation: str, params: dict[str, Any], expires_in: int) -> str:
    url: str = s3.generate_presigned_url(operation, Params=params, ExpiresIn=expires_in)
    if "X-Amz-Signature=" not in url:
        raise ValueError(
            "presigned URLs must be SigV4: create the S3 client with botocore.config.Config(signature_version='s3v4')"
        )
    return url


MANIFEST_KEY_HEADER = "x-panic-button-manifest-key"


def presign_keyed_get(s3: S3Client, params: dict[str, Any], manifest_key: str, expires_in: int) -> str:
    """A GetObject URL that also signs a header whose value only the collector and the workflow know:
    whoever reads the URL elsewhere (ListCommands shows SendCommand parameters) cannot use it."""
    def add_header(request: Any, **_: Any) -> None:
        request.headers[MANIFEST_KEY_HEADER] = manifest_key

    s3.meta.events.register("before-sign.s3.GetObject", add_header, unique_id="panic-button-manifest-key")
    try:
        url = presign(s3, "get_object", params, expires_in)
    finally:
        s3.meta.events.unregister("before-sign.s3.GetObject", unique_id="panic-button-manifest-key")
    signed = parse_qs(urlsplit(url).query).get("X-Amz-SignedHeaders", [""])[0].split(";")
    if MANIFEST_KEY_HEADER not in signed:
        raise ValueError(f"the manifest URL does not sign {MANIFEST_KEY_HEADER}")
    return url


def presign_part(s3: S3Client, params: dict[str, Any], checksum: str, expires_in: int) -> str:
    """An UploadPart URL with its SHA-256 signed: S3 then stores through it only the bytes it was made for."""
    url = presign(s3, "upload_part", {**params, "ChecksumSHA256": checksum}, expires_in)
    signed = parse_qs(urlsplit(url).query).get("X-Amz-SignedHeaders", [""])[0].split(";")
    if "x-amz-checksum-sha256" not in signed:  # hoisted into the query, the checksum would bind nothing
        raise ValueError("the part URL does not sign x-amz-checksum-sha256")
    return url


def presign_write_once(s3: S3Client, params: dict[str, Any], expires_in: int) -> str:
    """A PutObject URL with `If-None-Match: *` signed: it writes its key once, and S3 answers 412 to any later
    use. So a URL copied from where S3 logs request URIs (server access logs) no longer works once the
    collector has used it."""
    url = presign(s3, "put_object", {**params, "IfNoneMatch": "*"}, expires_in)
    signed = parse_qs(urlsplit(url).query).get("X-Amz-SignedHeaders", [""])[0].split(";")
    if "if-none-match" not in signed:
        raise ValueError("the PUT URL does not sign If-None-Match")
    return url


def read_text(s3: S3Client, bucket: str, key: str, limit: int = RESULT_READ_LIMIT) -> str | None:
    """An object's text, or None when missing. A hostile instance writes these: one over `limit` fails."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{limit}")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    body: bytes = response["Body"].read(limit + 1)
    if len(body) > limit:
        raise CollectionFailed(f"s3://{bucket}/{key} is over {limit} bytes: refused unread")
    return body.decode("utf-8", errors="replace")


def encryption(kms_key_id: str | None) -> dict[str, str]:
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id} if kms_key_id else {}


def hex_to_base64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def composite_sha256(part_hashes: tuple[str, ...] | list[str]) -> str:
    """S3's composite SHA-256 of a multipart object, without its "-N": SHA-256 of the binary part digests."""
    return base64.b64encode(hashlib.sha256(b"".join(bytes.fromhex(h) for h in part_hashes)).digest()).decode()


def uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"
