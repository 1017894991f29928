"""Planning a collection: the locate manifest, the locate result, and the upload plan whose part URLs
are each signed for one part's SHA-256 (docs/collection-protocol.md).

The instance has no S3 rights: every URL the collector uses is presigned here, by the caller's client,
with SigV4. No URL that can read the dump is ever handed out, and no URL is ever returned into the
workflow state: each one lives in a manifest object, which is purged when the upload ends."""

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from panic_button.errors import CollectionFailed, NoDumpFound
from panic_button.logic.collection_cleanup import purge_object
from panic_button.logic.collection_s3 import (
    S3Client,
    composite_sha256,
    encryption,
    hex_to_base64,
    presign,
    presign_keyed_get,
    presign_part,
    presign_write_once,
    read_text,
)
from panic_button.logic.collection_stdout import parse_ssm_report
from panic_button.logic.evidence_keys import execution_prefix
from panic_button.models.collection import (
    MANIFEST_URL_PATTERN,
    MIB,
    CollectionKeys,
    CollectorAction,
    IssuedManifest,
    LocateResult,
    Manifest,
    ManifestHandle,
    PlannedUpload,
    UploadPlan,
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
S3_MAX_OBJECT_SIZE = 5 * 1024 * 1024 * MIB
_BASE64_SHA256 = re.compile(r"^[A-Za-z0-9+/]{43}=$")
_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def collection_keys(instance_id: str, execution_name: str, root: str = "remediations") -> CollectionKeys:
    return CollectionKeys(
        instance_id=instance_id, execution_name=execution_name,
        prefix=execution_prefix(root, instance_id, execution_name) + "/",  # the evidence's prefix, one layout
    )


def choose_part_size(dump_size: int, min_part_size: int = DEFAULT_MIN_PART_SIZE,
                     scratch_free: int | None = None) -> int:
    """Whole MiB (the collector copies parts with dd in 1 MiB blocks), at most 10,000 parts, at least
    `min_part_size` (each part is one curl process and one TLS connection: bench/bench_collector_upload.py),
    smaller when the instance lacks scratch space for two parts. The collector applies the same rule
    while it hashes the parts (collect_dump.sh choose_part_size); the workflow checks it got this."""
    if dump_size > S3_MAX_OBJECT_SIZE:
        raise CollectionFailed(f"the dump is {dump_size} bytes, over S3's 5 TiB object limit")
    if min_part_size % MIB or not S3_MIN_PART_SIZE <= min_part_size <= S3_MAX_PART_SIZE:
        raise ValueError(f"part size {min_part_size} must be whole MiB between 5 MiB and 5 GiB")
    needed = max(S3_MIN_PART_SIZE, _ceil(_ceil(dump_size, S3_MAX_PARTS), MIB) * MIB)
    chosen = max(min_part_size, needed)
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
    s3: S3Client, *, bucket: str, keys: CollectionKeys, interrupted_at: datetime,
    min_part_size: int = DEFAULT_MIN_PART_SIZE,
) -> IssuedManifest:
    """Manifest for the `locate` command (which also hashes the dump's parts); returns the URL to send."""
    not_before = int((interrupted_at - NOT_BEFORE_SLACK).timestamp())
    return _write_manifest(
        s3, bucket, keys, CollectorAction.LOCATE,
        build=lambda result_url, log_url: Manifest(
            action=CollectorAction.LOCATE, not_before=not_before, result_url=result_url, log_url=log_url,
            part_size_min=min_part_size,
        ),
    )


def read_locate_result(
    s3: S3Client, *, bucket: str, keys: CollectionKeys, fallback_text: str | None = None
) -> LocateResult:
    """The locate result from S3, else `fallback_text` (the command's stdout, when the PUT failed)."""
    text = read_text(s3, bucket, keys.collector_key(CollectorAction.LOCATE, "result")) or fallback_text
    if not text:
        raise CollectionFailed("the collector wrote no locate result")
    try:
        located = LocateResult.from_text(text)
    except (ValueError, ValidationError) as error:
        raise CollectionFailed(f"unreadable locate result: {error}") from error
    if located.status == "failed":
        raise CollectionFailed(f"locate failed on the instance: {located.error}")
    return located


def checked_part_hashes(located: LocateResult, locate_stdout: str, min_part_size: int) -> str:
    """The composite the part list hashes to, once it equals what the collector printed over SSM and
    the parts are the ones choose_part_size gives. The result object itself anyone with its URL can write."""
    if located.dump_size is None:
        raise NoDumpFound("no complete dump was written after the interrupt")
    reported = parse_ssm_report(locate_stdout).parts_sha256
    if reported is None or not _BASE64_SHA256.match(reported):
        raise CollectionFailed("the locate command printed no parts_sha256 on its SSM stdout")
    size = choose_part_size(located.dump_size, min_part_size, located.scratch_free)
    count = max(1, _ceil(located.dump_size, size))
    if located.part_size != size or len(located.part_hashes) != count:
        raise CollectionFailed(f"the collector hashed {len(located.part_hashes)} parts of {located.part_size} bytes; "
                               f"the plan is {count} parts of {size} bytes")
    if not all(_HEX_SHA256.match(h) for h in located.part_hashes):
        raise CollectionFailed("the locate result holds a part hash that is not a SHA-256")
    composite = composite_sha256(located.part_hashes)
    if composite != reported:
        raise CollectionFailed(f"the part list in the locate result hashes to {composite}, not to the {reported} "
                               "the collector printed over SSM: the result object was replaced")
    return composite


def plan_upload(
    s3: S3Client,
    *,
    bucket: str,
    keys: CollectionKeys,
    located: LocateResult,
    locate_stdout: str,
    kms_key_id: str | None = None,
    min_part_size: int = DEFAULT_MIN_PART_SIZE,
    ships_dmesg: bool = True,
    parallel_parts: int = 1,
) -> PlannedUpload:
    """Start the multipart upload (SHA-256 checksums), presign every part for its own SHA-256, write the
    upload manifest. The part list must hash to the composite on the locate command's SSM stdout."""
    if located.status != "found" or located.dump_path is None or located.dump_size is None:
        raise NoDumpFound("no complete dump was written after the interrupt")
    composite = checked_part_hashes(located, locate_stdout, min_part_size)
    manifest_key = _checked_manifest_key(located, locate_stdout)
    size, count = located.part_size or 0, len(located.part_hashes)
    dump_key = keys.dump_key(located.dump_path)
    try:
        upload_id = s3.create_multipart_upload(
            Bucket=bucket, Key=dump_key, ChecksumAlgorithm="SHA256", **encryption(kms_key_id)
        )["UploadId"]
    except (ClientError, BotoCoreError) as error:
        raise CollectionFailed(f"CreateMultipartUpload failed: {error}") from error
    checksums = tuple(hex_to_base64(h) for h in located.part_hashes)
    part_urls = tuple(
        presign_part(s3, {"Bucket": bucket, "Key": dump_key, "UploadId": upload_id, "PartNumber": n},
                     checksum, UPLOAD_URL_EXPIRY)
        for n, checksum in enumerate(checksums, start=1)
    )
    # The dmesg is the crashed kernel's log: under the dump's key too, its SSE headers signed into the URL.
    dmesg_url = presign_write_once(s3, {"Bucket": bucket, "Key": keys.dmesg_key, **encryption(kms_key_id)},
                                   UPLOAD_URL_EXPIRY) if ships_dmesg else None
    issued = _write_manifest(
        s3, bucket, keys, CollectorAction.UPLOAD, manifest_key=manifest_key,
        build=lambda result_url, log_url: Manifest(
            action=CollectorAction.UPLOAD, not_before=located.not_before or 0, result_url=result_url,
            log_url=log_url, expect_path=located.dump_path, expect_size=located.dump_size, part_size=size,
            part_checksums=checksums, part_urls=part_urls, dmesg_url=dmesg_url, dmesg_kms_key=kms_key_id,
            parallel_parts=parallel_parts,
        ),
    )
    # Spent: its ManifestUrl (a SendCommand parameter) now answers 404, every version gone.
    purge_object(s3, bucket, keys.collector_key(CollectorAction.LOCATE, "manifest"))
    plan = UploadPlan(
        bucket=bucket, keys=keys, upload_id=upload_id, dump_key=dump_key, expect_path=located.dump_path,
        expect_size=located.dump_size, part_size=size, part_count=count, not_before=located.not_before or 0,
        parts_sha256=composite, kms_key_id=kms_key_id, manifest=issued.handle, ships_dmesg=ships_dmesg,
    )
    return PlannedUpload(plan=plan, manifest_url=issued.manifest_url)


def store_plan(s3: S3Client, plan: UploadPlan) -> None:
    """Kept beside the manifest before the upload command is sent, so a rerun of the step that finds that
    command (collection.find_sent_command) resumes the same upload instead of starting a second one."""
    s3.put_object(Bucket=plan.bucket, Key=plan.keys.collector_key(CollectorAction.UPLOAD, "plan"),
                  Body=plan.model_dump_json().encode(), ContentType="application/json")


def stored_plan(s3: S3Client, *, bucket: str, keys: CollectionKeys) -> UploadPlan | None:
    """The plan an earlier attempt stored, or None. It holds no URL (UploadPlan has no URL field)."""
    text = read_text(s3, bucket, keys.collector_key(CollectorAction.UPLOAD, "plan"))
    if text is None:
        return None
    try:
        return UploadPlan.model_validate_json(text)
    except ValidationError as error:
        raise CollectionFailed(f"the stored upload plan of {keys.prefix} is not a plan: {error}") from None


def _checked_manifest_key(located: LocateResult, locate_stdout: str) -> str:
    """The key the collector made at locate, sent in the result object, checked against its SSM hash:
    a key planted through the result URL would let its planter read the upload manifest."""
    if not located.manifest_key:
        raise CollectionFailed("the locate result holds no manifest key, which the collector sends in the result "
                               "object only, never on its SSM stdout: the object is missing or was replaced")
    reported = parse_ssm_report(locate_stdout).manifest_key_sha256
    try:
        raw = base64.b64decode(located.manifest_key or "", validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != 32 or reported is None or hashlib.sha256(raw).hexdigest() != reported:
        raise CollectionFailed("the locate result's manifest key is missing or does not match the hash the "
                               "collector printed over SSM")
    return located.manifest_key or ""


def _write_manifest(
    s3: S3Client, bucket: str, keys: CollectionKeys, action: CollectorAction, *,
    build: Callable[[str, str], Manifest], manifest_key: str | None = None,
) -> IssuedManifest:
    result_key, log_key = keys.collector_key(action, "result"), keys.collector_key(action, "log")
    manifest_key_name = keys.collector_key(action, "manifest")
    s3.delete_object(Bucket=bucket, Key=result_key)  # a stale result must not pass for this run's
    manifest = build(
        presign_write_once(s3, {"Bucket": bucket, "Key": result_key}, UPLOAD_URL_EXPIRY),
        presign_write_once(s3, {"Bucket": bucket, "Key": log_key}, UPLOAD_URL_EXPIRY),
    )
    s3.put_object(Bucket=bucket, Key=manifest_key_name, Body=manifest.to_text().encode(), ContentType="text/plain")
    params = {"Bucket": bucket, "Key": manifest_key_name}
    url = (presign_keyed_get(s3, params, manifest_key, MANIFEST_URL_EXPIRY) if manifest_key
           else presign(s3, "get_object", params, MANIFEST_URL_EXPIRY))
    if not re.match(MANIFEST_URL_PATTERN, url):
        raise ValueError(f"the manifest URL for {manifest_key_name} does not fit the document's allowedPattern")
    handle = ManifestHandle(
        action=action, manifest_key=manifest_key_name, result_key=result_key, log_key=log_key,
        url_expires_at=datetime.now(UTC) + timedelta(seconds=MANIFEST_URL_EXPIRY),
    )
    return IssuedManifest(handle=handle, manifest_url=url)


def _ceil(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)
