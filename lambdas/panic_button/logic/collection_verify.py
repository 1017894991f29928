"""Completing and verifying an upload without reading the dump back: time and API calls do not grow
with the dump's size.

Trusted: what S3 computed from the stored bytes (each part's SHA-256, checked against the checksum
signed into its URL, and the composite it returns from CompleteMultipartUpload), and what the collector
printed on its SSM stdout. Not trusted: the result objects, which anyone holding their URL can write."""

import hashlib
import time
from datetime import UTC, datetime
from typing import Any, NoReturn

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from panic_button.aws import AwsUnavailable, error_code
from panic_button.errors import CollectionFailed
from panic_button.logic.collection_cleanup import abort_upload, retire_urls, tag_unverified
from panic_button.logic.collection_s3 import (
    S3_DMESG_LIMIT,
    S3Client,
    composite_sha256,
    encryption,
    hex_to_base64,
    read_text,
    uri,
)
from panic_button.logic.collection_stdout import parse_ssm_report
from panic_button.models.collection import (
    Artifact,
    CollectedDump,
    CollectorAction,
    DumpManifest,
    LocateResult,
    ShippedFile,
    UploadPlan,
    UploadResult,
)


def complete_upload(
    s3: S3Client, *, plan: UploadPlan, located: LocateResult, locate_stdout: str, upload_stdout: str,
) -> CollectedDump:
    """Complete the multipart upload with the part checksums the URLs were signed for, check S3's
    composite against both commands' SSM stdout, and write `dump/manifest.json`. A failure before the
    completion aborts the upload; after it, the object stays, tagged panic-button:verified=false."""
    started = time.monotonic()
    text = read_text(s3, plan.bucket, plan.keys.collector_key(CollectorAction.UPLOAD, "result")) or upload_stdout
    if not text:
        _fail(s3, plan, "the collector wrote no upload result")
    try:
        uploaded = UploadResult.from_text(text)
    except (ValueError, ValidationError) as error:
        _fail(s3, plan, f"unreadable upload result: {error}")
    _check_upload_result(s3, plan, uploaded)
    signed = tuple(located.part_hashes)
    located_report, upload_report = parse_ssm_report(locate_stdout), parse_ssm_report(upload_stdout)
    if composite_sha256(signed) != plan.parts_sha256 or located_report.parts_sha256 != plan.parts_sha256:
        _fail(s3, plan, "the locate result or its SSM stdout no longer matches the part checksums the URLs were "
                        "signed for: the result object was replaced")
    parts = [
        {"PartNumber": n, "ETag": f'"{p.etag}"', "ChecksumSHA256": hex_to_base64(h)}
        for n, (p, h) in enumerate(zip(uploaded.parts, signed, strict=True), start=1)
    ]
    try:
        completed = s3.complete_multipart_upload(
            Bucket=plan.bucket, Key=plan.dump_key, UploadId=plan.upload_id, MultipartUpload={"Parts": parts}
        )
    except AwsUnavailable:
        raise  # S3 throttled or failed through every SDK attempt: the step's Retry completes it again
    except (ClientError, BotoCoreError) as error:
        earlier = _completed_before(s3, plan, error)
        if earlier is None:
            _fail(s3, plan, f"CompleteMultipartUpload failed: {error}")
        completed = earlier

    expected = f"{plan.parts_sha256}-{plan.part_count}"
    head = s3.head_object(Bucket=plan.bucket, Key=plan.dump_key, ChecksumMode="ENABLED")
    # A repeated completion (the step ran again after its answer was lost) may answer without the composite:
    # S3 gives the same `<base64>-<N>` on a HEAD with ChecksumMode.
    stored = str(completed.get("ChecksumSHA256", "") or head.get("ChecksumSHA256", ""))
    size = int(head["ContentLength"])
    problems = [
        f"S3's composite SHA-256 is {stored or 'missing'}, the part URLs were signed for {expected}"
        if stored != expected else "",
        f"the upload command printed parts_sha256={upload_report.parts_sha256} over SSM, the dump located "
        f"was {plan.parts_sha256}" if upload_report.parts_sha256 != plan.parts_sha256 else "",
        "the upload result's part hashes do not hash to the SSM value: the result object was replaced"
        if uploaded.parts_sha256 != plan.parts_sha256
        or composite_sha256([p.sha256 for p in uploaded.parts]) != plan.parts_sha256 else "",
        f"the stored dump is {size} bytes, the collector's {plan.expect_size}" if size != plan.expect_size else "",
        "the two commands reported different dump_sha256 over SSM"
        if upload_report.dump_sha256 != located_report.dump_sha256 or not upload_report.dump_sha256 else "",
    ]
    if any(problems):
        _fail_kept(s3, plan, "; ".join(p for p in problems if p))
    dmesg, notes = _verified_dmesg(s3, plan, uploaded)
    dump = ShippedFile(s3_uri=uri(plan.bucket, plan.dump_key), bytes=size, sha256=upload_report.dump_sha256 or "",
                       source_path=plan.expect_path)
    manifest = DumpManifest(
        instance_id=plan.keys.instance_id,
        execution_name=plan.keys.execution_name,
        hostname=uploaded.hostname,
        kernel_release=uploaded.kernel,
        kernel_source=uploaded.kernel_source,
        layout=uploaded.layout or located.layout,
        dump=dump,
        checksum_sha256=stored,
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
        not_before=_time(plan.not_before) or datetime.fromtimestamp(0, UTC),
        upload_started_at=_time(uploaded.started_at),
        upload_finished_at=_time(uploaded.finished_at),
        verified_at=datetime.now(UTC),
        verify_seconds=round(time.monotonic() - started, 3),
    )
    body = manifest.model_dump_json(indent=2).encode()
    s3.put_object(Bucket=plan.bucket, Key=plan.keys.dump_manifest_key, Body=body, ContentType="application/json",
                  **encryption(plan.kms_key_id))
    retire_urls(s3, plan)
    artifacts = [Artifact(kind="dump", s3_uri=dump.s3_uri, bytes=dump.bytes, sha256=dump.sha256)]
    if dmesg:
        artifacts.append(Artifact(kind="dmesg", s3_uri=dmesg.s3_uri, bytes=dmesg.bytes, sha256=dmesg.sha256))
    artifacts.append(Artifact(kind="manifest", s3_uri=uri(plan.bucket, plan.keys.dump_manifest_key),
                              bytes=len(body), sha256=hashlib.sha256(body).hexdigest()))
    return CollectedDump(artifacts=tuple(artifacts), manifest=manifest)


def _check_upload_result(s3: S3Client, plan: UploadPlan, uploaded: UploadResult) -> None:
    if uploaded.status != "uploaded":
        _fail(s3, plan, f"the collector failed: {uploaded.error}")
    numbers = [p.number for p in uploaded.parts]
    problems = [
        f"dump_path {uploaded.dump_path} != {plan.expect_path}" if uploaded.dump_path != plan.expect_path else "",
        f"dump_size {uploaded.dump_size} != {plan.expect_size}" if uploaded.dump_size != plan.expect_size else "",
        f"part_size {uploaded.part_size} != {plan.part_size}" if uploaded.part_size != plan.part_size else "",
        f"parts {numbers} != 1..{plan.part_count}" if numbers != list(range(1, plan.part_count + 1)) else "",
    ]
    if any(problems):
        _fail(s3, plan, "the upload result does not match the plan: " + "; ".join(p for p in problems if p))


def _verified_dmesg(s3: S3Client, plan: UploadPlan, uploaded: UploadResult) -> tuple[ShippedFile | None, list[str]]:
    """The dmesg is secondary evidence (a kernel log, a few MiB at most): read back with a cap, and a bad
    one is dropped with a note while the dump is still kept."""
    if uploaded.dmesg_source == "none" or not uploaded.dmesg_sha256:
        return None, []
    key = plan.keys.dmesg_key
    try:
        response = s3.get_object(Bucket=plan.bucket, Key=key, Range=f"bytes=0-{S3_DMESG_LIMIT}")
        body: bytes = response["Body"].read(S3_DMESG_LIMIT + 1)
    except ClientError as error:
        return None, [f"dmesg not stored: {error}"]
    sha256 = hashlib.sha256(body).hexdigest()
    if len(body) > S3_DMESG_LIMIT or sha256 != uploaded.dmesg_sha256:
        s3.delete_object(Bucket=plan.bucket, Key=key)
        return None, [f"dmesg deleted: stored sha256 {sha256} != collector's {uploaded.dmesg_sha256}"]
    source = uploaded.dmesg_path if uploaded.dmesg_source == "file" else "makedumpfile --dump-dmesg"
    return ShippedFile(s3_uri=uri(plan.bucket, key), bytes=len(body), sha256=sha256, source_path=source), []


def _completed_before(s3: S3Client, plan: UploadPlan, error: Exception) -> dict[str, Any] | None:
    """NoSuchUpload for an upload whose object is there in full: an earlier attempt completed it (its answer
    was lost, or the step ran again). The checks that follow still decide, on the composite S3 stored."""
    if error_code(error) != "NoSuchUpload":
        return None
    try:
        size = int(s3.head_object(Bucket=plan.bucket, Key=plan.dump_key)["ContentLength"])
    except ClientError:
        return None
    return {} if size == plan.expect_size else None


def _fail(s3: S3Client, plan: UploadPlan, reason: str) -> NoReturn:
    abort_upload(s3, plan)
    raise CollectionFailed(reason)


def _fail_kept(s3: S3Client, plan: UploadPlan, reason: str) -> NoReturn:
    """The object exists: keep it as evidence of what happened, never under a verified name."""
    tag_unverified(s3, plan.bucket, plan.dump_key)
    retire_urls(s3, plan)
    raise CollectionFailed(f"UNVERIFIED dump kept at {uri(plan.bucket, plan.dump_key)} "
                           f"(tagged panic-button:verified=false): {reason}")


def _time(epoch: int | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None
