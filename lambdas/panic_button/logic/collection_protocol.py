"""The workflow side of crash-dump collection (docs/collection-protocol.md).

Plain functions over a boto3 S3 client. The instance has no S3 rights: every URL the collector uses
is presigned here, by the caller's client (in Lambda the function role, in tests the moto endpoint),
and the client must sign with SigV4. Crash dumps hold memory contents, secrets included: no URL that
can read the dump is ever handed out, and a dump is kept only once its bytes are verified."""

import hashlib
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from panic_button.aws import AwsUnavailable, error_code
from panic_button.errors import CollectionFailed, NoDumpFound
from panic_button.logic.evidence_keys import execution_prefix
from panic_button.models.collection import (
    MANIFEST_URL_PATTERN,
    MIB,
    Artifact,
    CollectedDump,
    CollectionKeys,
    CollectorAction,
    DumpManifest,
    LocateResult,
    Manifest,
    ManifestHandle,
    ShippedFile,
    UploadPlan,
    UploadResult,
)

NOT_BEFORE_SLACK = timedelta(minutes=2)  # instance clock skew; older dumps are reported, not shipped
MANIFEST_URL_EXPIRY = 15 * 60  # the SendCommand must reach the instance within this
# Part and result URLs must outlive the whole upload command (ExecutionTimeout, 3,600 s by default).
# A presigned URL also dies with the credentials that signed it: Lambda role sessions last hours.
UPLOAD_URL_EXPIRY = 6 * 3600
DEFAULT_MIN_PART_SIZE = 64 * MIB
SCRATCH_MARGIN = 16 * MIB
S3_MIN_PART_SIZE = 5 * MIB
S3_MAX_PART_SIZE = 5 * 1024 * MIB
S3_MAX_PARTS = 10_000
VERIFY_STREAMS = 8  # parallel ranged GETs when verifying; the client pool must allow as many
S3_MAX_OBJECT_SIZE = 5 * 1024 * 1024 * MIB

S3Client = Any  # boto3's S3 client; boto3 ships no type stubs here


def collection_keys(instance_id: str, execution_name: str, root: str = "remediations") -> CollectionKeys:
    return CollectionKeys(
        instance_id=instance_id, execution_name=execution_name,
        prefix=execution_prefix(root, instance_id, execution_name) + "/",  # the evidence's prefix, one layout
    )


def choose_part_size(dump_size: int, requested: int | None = None, scratch_free: int | None = None) -> int:
    """Whole MiB (the collector copies parts with dd in 1 MiB blocks), at most 10,000 parts. By default
    64 MiB or more: each part is one curl process and one TLS connection, so larger parts amortize that
    (bench/bench_collector_upload.py). Smaller when the instance lacks scratch space for two parts."""
    if dump_size > S3_MAX_OBJECT_SIZE:
        raise CollectionFailed(f"the dump is {dump_size} bytes, over S3's 5 TiB object limit")
    needed = max(S3_MIN_PART_SIZE, _ceil(_ceil(dump_size, S3_MAX_PARTS), MIB) * MIB)
    if requested is not None:
        if requested % MIB or not S3_MIN_PART_SIZE <= requested <= S3_MAX_PART_SIZE:
            raise ValueError(f"part size {requested} must be whole MiB between 5 MiB and 5 GiB")
        if requested < needed:
            raise ValueError(f"part size {requested} needs more than {S3_MAX_PARTS} parts")
        return requested
    chosen = max(DEFAULT_MIN_PART_SIZE, needed)
    if scratch_free is not None:
        fits = (scratch_free - SCRATCH_MARGIN) // 2 // MIB * MIB
        if fits < needed:
            raise CollectionFailed(
                f"the instance has {scratch_free // MIB} MiB of scratch space; the "
                f"{dump_size}-byte dump needs two parts of {needed // MIB} MiB"
            )
        chosen = min(chosen, fits)
    return chosen


def write_locate_manifest(
    s3: S3Client, *, bucket: str, keys: CollectionKeys, interrupted_at: datetime
) -> ManifestHandle:
    """Manifest for the `locate` command; returns the `ManifestUrl` to send."""
    not_before = int((interrupted_at - NOT_BEFORE_SLACK).timestamp())
    return _write_manifest(
        s3,
        bucket,
        keys,
        CollectorAction.LOCATE,
        lambda result_url, log_url: Manifest(
            action=CollectorAction.LOCATE, not_before=not_before, result_url=result_url, log_url=log_url
        ),
    )


def read_locate_result(
    s3: S3Client, *, bucket: str, keys: CollectionKeys, fallback_text: str | None = None
) -> LocateResult:
    """The locate result from S3, else `fallback_text` (the command's stdout, when the PUT failed)."""
    text = _read_text(s3, bucket, keys.collector_key(CollectorAction.LOCATE, "result")) or fallback_text
    if not text:
        raise CollectionFailed("the collector wrote no locate result")
    try:
        located = LocateResult.from_text(text)
    except (ValueError, ValidationError) as error:
        raise CollectionFailed(f"unreadable locate result: {error}") from error
    if located.status == "failed":
        raise CollectionFailed(f"locate failed on the instance: {located.error}")
    return located


def plan_upload(
    s3: S3Client,
    *,
    bucket: str,
    keys: CollectionKeys,
    located: LocateResult,
    kms_key_id: str | None = None,
    part_size: int | None = None,
) -> UploadPlan:
    """Start the multipart upload, presign every part, write the upload manifest."""
    if located.status != "found" or located.dump_path is None or located.dump_size is None:
        raise NoDumpFound("no complete dump was written after the interrupt")
    size = choose_part_size(located.dump_size, part_size, located.scratch_free)
    count = max(1, _ceil(located.dump_size, size))
    dump_key = keys.dump_key(located.dump_path)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=dump_key, **_encryption(kms_key_id))["UploadId"]
    part_urls = tuple(
        _presign(
            s3,
            "upload_part",
            {"Bucket": bucket, "Key": dump_key, "UploadId": upload_id, "PartNumber": n},
            UPLOAD_URL_EXPIRY,
        )
        for n in range(1, count + 1)
    )
    dmesg_url = _presign(s3, "put_object", {"Bucket": bucket, "Key": keys.dmesg_key}, UPLOAD_URL_EXPIRY)
    handle = _write_manifest(
        s3,
        bucket,
        keys,
        CollectorAction.UPLOAD,
        lambda result_url, log_url: Manifest(
            action=CollectorAction.UPLOAD,
            not_before=located.not_before or 0,
            result_url=result_url,
            log_url=log_url,
            expect_path=located.dump_path,
            expect_size=located.dump_size,
            part_size=size,
            part_urls=part_urls,
            dmesg_url=dmesg_url,
        ),
    )
    return UploadPlan(
        bucket=bucket,
        keys=keys,
        upload_id=upload_id,
        dump_key=dump_key,
        expect_path=located.dump_path,
        expect_size=located.dump_size,
        part_size=size,
        part_count=count,
        not_before=located.not_before or 0,
        kms_key_id=kms_key_id,
        manifest=handle,
    )


def complete_upload(
    s3: S3Client, *, plan: UploadPlan, located: LocateResult, fallback_text: str | None = None
) -> CollectedDump:
    """Complete the multipart upload, verify the object's SHA-256 against the collector's, and write
    `dump/manifest.json`. Any failure aborts the upload (or deletes the unverified object) and
    raises CollectionFailed."""
    result_key = plan.keys.collector_key(CollectorAction.UPLOAD, "result")
    text = _read_text(s3, plan.bucket, result_key) or fallback_text
    if not text:
        _fail(s3, plan, "the collector wrote no upload result")
    try:
        uploaded = UploadResult.from_text(text or "")
    except (ValueError, ValidationError) as error:
        _fail(s3, plan, f"unreadable upload result: {error}")
    _check_upload_result(s3, plan, uploaded)
    reported = _ssm_reported_sha256(fallback_text)
    if reported is not None and reported != uploaded.dump_sha256:
        _fail(s3, plan, "the upload result in S3 does not match the SHA-256 the collector reported over SSM "
                        f"({uploaded.dump_sha256} != {reported}): the result object was replaced")
    parts = [{"PartNumber": p.number, "ETag": f'"{p.etag}"'} for p in uploaded.parts]
    try:
        s3.complete_multipart_upload(
            Bucket=plan.bucket, Key=plan.dump_key, UploadId=plan.upload_id, MultipartUpload={"Parts": parts}
        )
    except AwsUnavailable:
        raise  # S3 throttled or failed through every SDK attempt: the step's Retry completes it again
    except (ClientError, BotoCoreError) as error:
        if not _completed_before(s3, plan, error):
            _fail(s3, plan, f"CompleteMultipartUpload failed: {error}")

    started = time.monotonic()
    size, part_hashes = _parallel_part_sha256(s3, plan.bucket, plan.dump_key, plan.part_size)
    differing = [p.number for p, h in zip(uploaded.parts, part_hashes, strict=False) if p.sha256 != h]
    differing += list(range(len(uploaded.parts) + 1, len(part_hashes) + 1))  # parts the collector never sent
    # Every part equal to what the collector hashed while reading the dump once means the object is the
    # dump; the collector's whole-file SHA-256, from the same read, then describes the object too.
    sha256 = uploaded.dump_sha256 if not differing and len(part_hashes) == len(uploaded.parts) else "differs"
    if size != plan.expect_size or sha256 != uploaded.dump_sha256:
        _fail(
            s3,
            plan,
            f"the stored dump ({size} bytes) does not match the collector's "
            f"({plan.expect_size} bytes, sha256 {uploaded.dump_sha256}); parts differing: {differing}",
            completed=True,
        )
    dmesg, notes = _verified_dmesg(s3, plan, uploaded)
    dump = ShippedFile(s3_uri=_uri(plan.bucket, plan.dump_key), bytes=size, sha256=sha256, source_path=plan.expect_path)
    manifest = DumpManifest(
        instance_id=plan.keys.instance_id,
        execution_name=plan.keys.execution_name,
        hostname=uploaded.hostname,
        kernel_release=uploaded.kernel,
        kernel_source=uploaded.kernel_source,
        layout=uploaded.layout or located.layout,
        dump=dump,
        dump_mtime=uploaded.dump_mtime,
        part_size=plan.part_size,
        part_count=plan.part_count,
        parts=uploaded.parts,
        dmesg=dmesg,
        dmesg_source=uploaded.dmesg_source if dmesg else "none",
        not_shipped_older=located.older,
        not_shipped_other=located.other,
        not_shipped_incomplete=located.incomplete,
        notes=(*located.notes, *uploaded.notes, *notes),
        not_before=_time(plan.not_before),
        upload_started_at=_time(uploaded.started_at),
        upload_finished_at=_time(uploaded.finished_at),
        verified_at=datetime.now(UTC),
        verify_seconds=round(time.monotonic() - started, 3),
    )
    body = manifest.model_dump_json(indent=2).encode()
    s3.put_object(
        Bucket=plan.bucket,
        Key=plan.keys.dump_manifest_key,
        Body=body,
        ContentType="application/json",
        **_encryption(plan.kms_key_id),
    )
    discard_manifests(s3, plan)
    artifacts = [Artifact(kind="dump", s3_uri=dump.s3_uri, bytes=dump.bytes, sha256=dump.sha256)]
    if dmesg:
        artifacts.append(Artifact(kind="dmesg", s3_uri=dmesg.s3_uri, bytes=dmesg.bytes, sha256=dmesg.sha256))
    artifacts.append(
        Artifact(
            kind="manifest",
            s3_uri=_uri(plan.bucket, plan.keys.dump_manifest_key),
            bytes=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
        )
    )
    return CollectedDump(artifacts=tuple(artifacts), manifest=manifest)


def _completed_before(s3: S3Client, plan: UploadPlan, error: Exception) -> bool:
    """NoSuchUpload for an upload whose object is there in full: an earlier attempt completed it (its answer
    was lost, or the step ran again); the SHA-256 check that follows still decides."""
    if error_code(error) != "NoSuchUpload":
        return False
    try:
        size = int(s3.head_object(Bucket=plan.bucket, Key=plan.dump_key)["ContentLength"])
    except ClientError:
        return False
    return size == plan.expect_size


def _ssm_reported_sha256(stdout: str | None) -> str | None:
    """The collector's last stdout line repeats the dump's hash; SSM delivers it, not the presigned URLs."""
    found = [line.partition("=")[2].strip() for line in (stdout or "").splitlines()
             if line.startswith("ssm_dump_sha256=")]
    return found[-1] if found else None


def abort_upload(s3: S3Client, plan: UploadPlan) -> None:
    """For the workflow's failure paths (e.g. the upload command timed out): nothing half-done stays."""
    try:
        s3.abort_multipart_upload(Bucket=plan.bucket, Key=plan.dump_key, UploadId=plan.upload_id)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NoSuchUpload":
            raise
    discard_manifests(s3, plan)


def _check_upload_result(s3: S3Client, plan: UploadPlan, uploaded: UploadResult) -> None:
    if uploaded.status != "uploaded":
        _fail(s3, plan, f"the collector failed: {uploaded.error}")
    numbers = [p.number for p in uploaded.parts]
    problems = [
        f"dump_path {uploaded.dump_path} != {plan.expect_path}" if uploaded.dump_path != plan.expect_path else "",
        f"dump_size {uploaded.dump_size} != {plan.expect_size}" if uploaded.dump_size != plan.expect_size else "",
        f"part_size {uploaded.part_size} != {plan.part_size}" if uploaded.part_size != plan.part_size else "",
        f"parts {numbers} != 1..{plan.part_count}" if numbers != list(range(1, plan.part_count + 1)) else "",
        "no dump_sha256" if not uploaded.dump_sha256 else "",
    ]
    if any(problems):
        _fail(s3, plan, "the upload result does not match the plan: " + "; ".join(p for p in problems if p))


def _verified_dmesg(s3: S3Client, plan: UploadPlan, uploaded: UploadResult) -> tuple[ShippedFile | None, list[str]]:
    """The dmesg is secondary evidence: a bad one is dropped with a note, the dump is still kept."""
    if uploaded.dmesg_source == "none" or not uploaded.dmesg_sha256:
        return None, []
    key = plan.keys.dmesg_key
    try:
        size, sha256, _ = _stream_sha256(s3, plan.bucket, key, S3_MAX_PART_SIZE)
    except ClientError as error:
        return None, [f"dmesg not stored: {error}"]
    if sha256 != uploaded.dmesg_sha256:
        s3.delete_object(Bucket=plan.bucket, Key=key)
        return None, [f"dmesg deleted: stored sha256 {sha256} != collector's {uploaded.dmesg_sha256}"]
    source = uploaded.dmesg_path if uploaded.dmesg_source == "file" else "makedumpfile --dump-dmesg"
    return ShippedFile(s3_uri=_uri(plan.bucket, key), bytes=size, sha256=sha256, source_path=source), []


def _parallel_part_sha256(s3: S3Client, bucket: str, key: str, part_size: int) -> tuple[int, list[str]]:
    """Size and per-part SHA-256s, parts read in parallel ranged GETs (1 MiB at a time per part): a dump of
    tens of GB verifies within one Lambda run, where one sequential stream would not."""
    size = int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
    ranges = [(start, min(start + part_size, size) - 1) for start in range(0, size, part_size)]

    def part_hash(byte_range: tuple[int, int]) -> str:
        digest = hashlib.sha256()
        body = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={byte_range[0]}-{byte_range[1]}")["Body"]
        try:
            for chunk in body.iter_chunks(chunk_size=MIB):
                digest.update(chunk)  # hashlib releases the GIL: parts hash on all vCPUs
        finally:
            body.close()
        return digest.hexdigest()

    with ThreadPoolExecutor(max_workers=VERIFY_STREAMS) as pool:
        return size, list(pool.map(part_hash, ranges))


def _stream_sha256(s3: S3Client, bucket: str, key: str, part_size: int) -> tuple[int, str, list[str]]:
    """Size, SHA-256 and per-part SHA-256s of an object, read in 1 MiB chunks (constant memory)."""
    whole, part, in_part, total, part_hashes = hashlib.sha256(), hashlib.sha256(), 0, 0, []
    for chunk in _chunks(s3, bucket, key):
        view = memoryview(chunk)
        while view:
            take = min(len(view), part_size - in_part)
            whole.update(view[:take])
            part.update(view[:take])
            in_part, total, view = in_part + take, total + take, view[take:]
            if in_part == part_size:
                part_hashes.append(part.hexdigest())
                part, in_part = hashlib.sha256(), 0
    if in_part:
        part_hashes.append(part.hexdigest())
    return total, whole.hexdigest(), part_hashes


def _chunks(s3: S3Client, bucket: str, key: str) -> Iterator[bytes]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    try:
        yield from body.iter_chunks(chunk_size=MIB)
    finally:
        body.close()


def _fail(s3: S3Client, plan: UploadPlan, reason: str, completed: bool = False) -> None:
    if completed:  # an unverified dump must not sit under the name triage reads
        s3.delete_object(Bucket=plan.bucket, Key=plan.dump_key)
    abort_upload(s3, plan)
    raise CollectionFailed(reason)


def _write_manifest(
    s3: S3Client, bucket: str, keys: CollectionKeys, action: CollectorAction, build: Callable[[str, str], Manifest]
) -> ManifestHandle:
    result_key, log_key = keys.collector_key(action, "result"), keys.collector_key(action, "log")
    manifest_key = keys.collector_key(action, "manifest")
    s3.delete_object(Bucket=bucket, Key=result_key)  # a stale result must not pass for this run's
    manifest = build(
        _presign(s3, "put_object", {"Bucket": bucket, "Key": result_key}, UPLOAD_URL_EXPIRY),
        _presign(s3, "put_object", {"Bucket": bucket, "Key": log_key}, UPLOAD_URL_EXPIRY),
    )
    s3.put_object(Bucket=bucket, Key=manifest_key, Body=manifest.to_text().encode(), ContentType="text/plain")
    url = _presign(s3, "get_object", {"Bucket": bucket, "Key": manifest_key}, MANIFEST_URL_EXPIRY)
    if not re.match(MANIFEST_URL_PATTERN, url):
        raise ValueError(f"the manifest URL for {manifest_key} does not fit the document's allowedPattern")
    return ManifestHandle(
        action=action,
        manifest_url=url,
        manifest_key=manifest_key,
        result_key=result_key,
        log_key=log_key,
        url_expires_at=datetime.now(UTC) + timedelta(seconds=MANIFEST_URL_EXPIRY),
    )


def _presign(s3: S3Client, operation: str, params: dict[str, Any], expires_in: int) -> str:
    url: str = s3.generate_presigned_url(operation, Params=params, ExpiresIn=expires_in)
    if "X-Amz-Signature=" not in url:
        raise ValueError(
            "presigned URLs must be SigV4: create the S3 client with botocore.config.Config(signature_version='s3v4')"
        )
    return url


def _read_text(s3: S3Client, bucket: str, key: str) -> str | None:
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    return body.decode("utf-8", errors="replace")


def discard_manifests(s3: S3Client, plan: UploadPlan) -> None:
    """Manifests hold live upload URLs: delete them, every version, once the upload is over either way."""
    for action in CollectorAction:
        purge_object(s3, plan.bucket, plan.keys.collector_key(action, "manifest"))


def purge_object(s3: S3Client, bucket: str, key: str) -> int:
    """Delete every version and delete marker of `key`; returns how many went. The evidence bucket is
    versioned: a plain DeleteObject only hides the object, and GetObjectVersion still reads it."""
    found = [
        entry["VersionId"]
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key)
        for entry in (*page.get("Versions", []), *page.get("DeleteMarkers", []))
        if entry["Key"] == key  # Prefix also matches longer keys
    ]
    for version_id in found:
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version_id)
    return len(found)


def _encryption(kms_key_id: str | None) -> dict[str, str]:
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id} if kms_key_id else {}


def _time(epoch: int | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None


def _ceil(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def _uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"
