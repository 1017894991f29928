"""`upload`: the real collect_dump.sh ships dumps as S3 multipart uploads through presigned URLs, each
signed for its part's SHA-256, and the workflow completes, verifies (S3's composite checksum against the
SSM stdout, no read-back) or aborts."""

import base64
import hashlib
import json
import os
import re
import signal
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from collector_harness import (
    SHELLS,
    Collection,
    FaultyProxy,
    InstanceRoot,
    peak_memory,
    run_linux_collector,
    start_linux_collector,
)
from panic_button.errors import CollectionFailed
from panic_button.logic.collection_plan import read_locate_result, write_locate_manifest
from panic_button.logic.collection_s3 import MANIFEST_KEY_HEADER
from panic_button.models.collection import MIB, CollectorAction, LocateResult, PlannedUpload

from panic_button_sandbox.presigning import lambda_like_s3_client as s3_client
from tests.presigned_put import put

INTERRUPTED_AT = datetime.now(UTC) - timedelta(seconds=60)
FRESH = time.time() - 30
RHEL_DIR = "var/crash/127.0.0.1-2026-05-01-10:00:00"
DMESG = "[    0.000000] Linux version 5.14.0-427.el9.x86_64 (mockbuild@x) #1 SMP\n"


@pytest.fixture
def collection(s3: Any, bucket: str) -> Collection:
    return Collection(s3, bucket)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(MIB):
            digest.update(block)
    return digest.hexdigest()


def plan(
    collection: Collection, shell: str, instance: InstanceRoot, client: Any = None, part_size: int = 64 * MIB,
    **options: Any,
) -> tuple[LocateResult, PlannedUpload]:
    _, located = collection.locate(shell, instance, INTERRUPTED_AT, min_part_size=part_size)
    return located, collection.plan(located, client, min_part_size=part_size, **options)


def nothing_left_behind(collection: Collection) -> bool:
    uploads = collection.s3.list_multipart_uploads(Bucket=collection.bucket).get("Uploads", [])
    listed = collection.s3.list_objects_v2(Bucket=collection.bucket).get("Contents", [])
    return not uploads and not [o["Key"] for o in listed if o["Key"].endswith(".manifest")]


def failed_and_left_nothing(collection: Collection, instance: InstanceRoot, upload: PlannedUpload,
                             located: LocateResult, error: str) -> None:
    """The result object says the collector failed with `error`, completing refuses, and nothing is left."""
    result = collection.text(collection.keys.collector_key(CollectorAction.UPLOAD, "result"))
    assert f"status=failed\nerror={error}\n" in result
    assert instance.leftovers() == []
    with pytest.raises(CollectionFailed, match=f"the collector failed: {re.escape(error)}"):
        collection.complete(upload, located, "")
    assert nothing_left_behind(collection)


def test_small_dump_end_to_end(shell: str, instance: InstanceRoot, collection: Collection, kms_key_id: str) -> None:
    dump = instance.write(f"{RHEL_DIR}/vmcore", os.urandom(300_000), FRESH)
    instance.write(f"{RHEL_DIR}/vmcore-dmesg.txt", DMESG, FRESH)
    located, upload = plan(collection, shell, instance)
    result = run_linux_collector(shell, instance, "upload", upload.manifest_url)
    assert (result.returncode, result.stderr) == (0, "")
    assert "status=uploaded" in result.stdout and "X-Amz-Signature" not in result.stdout

    collected = collection.complete(upload, located, result.stdout)

    dump_key = collection.keys.dump_key(f"/{RHEL_DIR}/vmcore")
    assert collection.object_bytes(dump_key) == dump.read_bytes()
    assert collection.object_bytes(collection.keys.dmesg_key) == DMESG.encode()
    assert [a.kind for a in collected.artifacts] == ["dump", "dmesg", "manifest"]
    assert collected.artifacts[0].sha256 == sha256_file(dump)
    manifest = json.loads(collection.text(collection.keys.dump_manifest_key))
    assert manifest["layout"] == "rhel" and manifest["kernel_release"] == "5.14.0-427.el9.x86_64"
    assert manifest["dump"]["source_path"] == f"/{RHEL_DIR}/vmcore" and manifest["part_count"] == 1
    assert manifest["dmesg"]["source_path"] == f"/{RHEL_DIR}/vmcore-dmesg.txt"
    head = collection.s3.head_object(Bucket=collection.bucket, Key=dump_key)
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", kms_key_id)
    log = collection.text(collection.keys.collector_key(CollectorAction.UPLOAD, "log"))
    assert "upload complete" in log and "X-Amz-Signature" not in log
    assert nothing_left_behind(collection) and instance.leftovers() == []


@pytest.mark.parametrize("shell", SHELLS[:1])
def test_sparse_multipart_dump_in_constant_memory(shell: str, instance: InstanceRoot, collection: Collection) -> None:
    dump = instance.sparse(f"{RHEL_DIR}/vmcore", 256 * MIB, FRESH)  # 268 MB, 4 parts, no disk used
    located, upload = plan(collection, shell, instance, part_size=64 * MIB)
    assert upload.plan.part_count == 4

    process, peak, stdout, stderr = peak_memory(
        lambda: start_linux_collector(shell, instance, "upload", upload.manifest_url)
    )
    assert process.returncode == 0, stderr
    collected = collection.complete(upload, located, stdout)

    assert collected.manifest.dump.sha256 == sha256_file(dump)
    assert [p.number for p in collected.manifest.parts] == [1, 2, 3, 4]
    assert stdout.count("\npart=") == 4
    # No part (64 MiB), let alone the dump, is ever held in memory by the collector's processes.
    assert 0 < peak < 32 * MIB, f"peak RSS of the collector's process tree: {peak / MIB:.1f} MiB"
    assert nothing_left_behind(collection) and instance.leftovers() == []


def test_a_failed_part_is_retried(
    shell: str, instance: InstanceRoot, collection: Collection, proxy: FaultyProxy
) -> None:
    dump = instance.sparse(f"{RHEL_DIR}/vmcore", 12 * MIB, FRESH)
    through_proxy = s3_client(proxy.url)
    located, upload = plan(collection, shell, instance, client=through_proxy, part_size=5 * MIB)
    proxy.fail_once.add("partNumber=2")
    result = run_linux_collector(shell, instance, "upload", upload.manifest_url)
    assert result.returncode == 0, result.stderr
    assert sum("partNumber=2&" in path for path in proxy.seen) == 2
    log = collection.text(collection.keys.collector_key(CollectorAction.UPLOAD, "log"))
    assert "part 2: attempt 1 failed: HTTP 500 InternalError" in log and "part 2 uploaded (attempt 2)" in log
    collected = collection.complete(upload, located, result.stdout)
    assert collected.manifest.dump.sha256 == sha256_file(dump)


def test_corruption_in_transit_is_refused_by_s3_and_keeps_nothing(
    shell: str, instance: InstanceRoot, collection: Collection, proxy: FaultyProxy
) -> None:
    instance.sparse(f"{RHEL_DIR}/vmcore", 12 * MIB, FRESH)
    located, upload = plan(collection, shell, instance, client=s3_client(proxy.url), part_size=5 * MIB)
    proxy.corrupt.add("partNumber=1&")
    result = run_linux_collector(shell, instance, "upload", upload.manifest_url)
    # S3 checks the bytes against the checksum signed into the URL: the part never lands.
    assert result.returncode == 1
    assert result.stderr == "collect_dump: part 1 failed after 1 attempts: HTTP 400 BadDigest\n"

    with pytest.raises(CollectionFailed, match=r"the collector failed: part 1 failed .* BadDigest"):
        collection.complete(upload, located, result.stdout)
    listed = collection.s3.list_objects_v2(Bucket=collection.bucket).get("Contents", [])
    assert not [o for o in listed if o["Key"] == upload.plan.dump_key]
    assert nothing_left_behind(collection)


def test_a_killed_collector_still_reports_and_cleans_up(
    shell: str, instance: InstanceRoot, collection: Collection, proxy: FaultyProxy
) -> None:
    instance.sparse(f"{RHEL_DIR}/vmcore", 6 * MIB, FRESH)
    located, upload = plan(collection, shell, instance, client=s3_client(proxy.url), part_size=5 * MIB)
    proxy.stall.add("partNumber=2&")
    process = start_linux_collector(shell, instance, "upload", upload.manifest_url)
    assert proxy.stalled.wait(60)
    os.killpg(process.pid, signal.SIGTERM)  # an operator's kill; the agent's own is SIGKILL (test_collector_scratch)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1 and stderr == "collect_dump: interrupted by a signal\n"
    failed_and_left_nothing(collection, instance, upload, located, "interrupted by a signal")


def test_a_wrong_etag_aborts_the_upload(shell: str, instance: InstanceRoot, collection: Collection) -> None:
    instance.write(f"{RHEL_DIR}/vmcore", os.urandom(1000), FRESH)
    located, upload = plan(collection, shell, instance)
    ran = run_linux_collector(shell, instance, "upload", upload.manifest_url)
    assert ran.returncode == 0, ran.stderr
    result_key = collection.keys.collector_key(CollectorAction.UPLOAD, "result")
    text = collection.text(result_key)
    etag = next(line for line in text.splitlines() if line.startswith("part=1 ")).split()[1]
    collection.s3.put_object(Bucket=collection.bucket, Key=result_key, Body=text.replace(etag, "0" * 32))
    with pytest.raises(CollectionFailed, match="CompleteMultipartUpload failed"):
        collection.complete(upload, located, ran.stdout)
    assert nothing_left_behind(collection)


def test_a_dump_that_changed_since_locate_is_not_shipped(
    shell: str, instance: InstanceRoot, collection: Collection
) -> None:
    dump = instance.write(f"{RHEL_DIR}/vmcore", os.urandom(1000), FRESH)
    located, upload = plan(collection, shell, instance)
    with dump.open("ab") as handle:
        handle.write(b"more")
    result = run_linux_collector(shell, instance, "upload", upload.manifest_url)
    assert result.returncode == 1
    assert result.stderr == f"collect_dump: /{RHEL_DIR}/vmcore is 1004 bytes, expected 1000\n"
    with pytest.raises(CollectionFailed, match=r"the collector failed: .* is 1004 bytes, expected 1000"):
        collection.complete(upload, located, result.stdout)
    assert nothing_left_behind(collection)


def test_no_result_at_all_aborts(shell: str, instance: InstanceRoot, collection: Collection) -> None:
    instance.write(f"{RHEL_DIR}/vmcore", os.urandom(1000), FRESH)
    located, upload = plan(collection, shell, instance)
    with pytest.raises(CollectionFailed, match="the collector wrote no upload result"):
        collection.complete(upload, located, "")
    assert nothing_left_behind(collection)


def test_dmesg_from_makedumpfile_when_the_dump_has_none(
    shell: str, instance: InstanceRoot, collection: Collection, tmp_path: Path
) -> None:
    instance.write(f"{RHEL_DIR}/vmcore", os.urandom(2000), FRESH)
    tools = tmp_path / "bin"
    tools.mkdir()
    stub = tools / "makedumpfile"  # stands in for makedumpfile --dump-dmesg DUMP OUT
    stub.write_text(
        '#!/bin/sh\n[ "$1" = --dump-dmesg ] && [ -f "$2" ] || exit 2\n'
        'printf "[    0.000000] Linux version 6.12.0-stub.x86_64 (b) #1\\n" > "$3"\n'
    )
    stub.chmod(0o755)
    located, upload = plan(collection, shell, instance)
    result = run_linux_collector(shell, instance, "upload", upload.manifest_url, extra_path=tools)
    assert "dmesg_source=makedumpfile\n" in result.stdout and "kernel=6.12.0-stub.x86_64\n" in result.stdout
    collected = collection.complete(upload, located, result.stdout)
    assert collected.manifest.dmesg is not None
    assert collected.manifest.dmesg.source_path == "makedumpfile --dump-dmesg"
    assert collected.manifest.kernel_release == "6.12.0-stub.x86_64"


def test_a_given_kms_key_encrypts_the_dump(
    shell: str, instance: InstanceRoot, collection: Collection, kms: Any
) -> None:
    own_key = kms.create_key(Description="dumps only")["KeyMetadata"]["KeyId"]
    instance.write(f"{RHEL_DIR}/vmcore", os.urandom(1000), FRESH)
    located, upload = plan(collection, shell, instance, kms_key_id=own_key)
    ran = run_linux_collector(shell, instance, "upload", upload.manifest_url)
    assert ran.returncode == 0, ran.stderr
    collection.complete(upload, located, ran.stdout)
    for key in (upload.plan.dump_key, collection.keys.dump_manifest_key):
        assert collection.s3.head_object(Bucket=collection.bucket, Key=key)["SSEKMSKeyId"] == own_key


def manifest_part(collection: Collection, number: int) -> tuple[str, str]:
    """The signed checksum and the URL of one part, as the collector reads them from the upload manifest."""
    text = collection.text(collection.keys.collector_key(CollectorAction.UPLOAD, "manifest"))
    _, _, checksum, url = next(line for line in text.splitlines() if line.startswith(f"part {number} ")).split(" ")
    return checksum, url


def kept_unverified(collection: Collection, upload: PlannedUpload) -> bool:
    tags = collection.s3.get_object_tagging(Bucket=collection.bucket, Key=upload.plan.dump_key)["TagSet"]
    return {"Key": "panic-button:verified", "Value": "false"} in tags and nothing_left_behind(collection)


def test_a_part_url_refuses_other_bytes_and_unsigned_checksums(
    shell: str, instance: InstanceRoot, collection: Collection
) -> None:
    instance.sparse(f"{RHEL_DIR}/vmcore", 12 * MIB, FRESH)
    _, upload = plan(collection, shell, instance, part_size=5 * MIB)
    checksum, url = manifest_part(collection, 2)
    other = os.urandom(5 * MIB)
    assert put(url, other, {"x-amz-checksum-sha256": checksum})[0] == 400  # BadDigest
    status, body = put(url, other, {"x-amz-checksum-sha256": checksum, "x-amz-checksum-crc32": "AAAAAA=="})
    assert status == 403 and "<HeadersNotSigned>x-amz-checksum-crc32</HeadersNotSigned>" in body
    assert put(url, other, {})[0] == 403  # the signed header is missing
    parts = collection.s3.list_parts(Bucket=collection.bucket, Key=upload.plan.dump_key,
                                     UploadId=upload.plan.upload_id).get("Parts", [])
    assert parts == []


def test_a_part_re_uploaded_with_other_bytes_fails_and_the_dump_stays_unverified(
    shell: str, instance: InstanceRoot, collection: Collection
) -> None:
    # Given a genuine upload; part 2 re-sent through its URL with other bytes is refused whatever
    # checksum header it carries (BadDigest, or a signature that no longer matches)
    instance.sparse(f"{RHEL_DIR}/vmcore", 12 * MIB, FRESH)
    located, upload = plan(collection, shell, instance, part_size=5 * MIB)
    genuine = run_linux_collector(shell, instance, "upload", upload.manifest_url)
    assert genuine.returncode == 0, genuine.stderr
    signed, url = manifest_part(collection, 2)
    other = os.urandom(5 * MIB)
    own_checksum = base64.b64encode(hashlib.sha256(other).digest()).decode()
    assert put(url, other, {"x-amz-checksum-sha256": signed})[0] == 400
    assert put(url, other, {"x-amz-checksum-sha256": own_checksum})[0] == 403
    # Then a principal with IAM write access (no URL needed) replaces it anyway, and the result's ETag
    collection.s3.upload_part(Bucket=collection.bucket, Key=upload.plan.dump_key, UploadId=upload.plan.upload_id,
                              PartNumber=2, Body=other, ChecksumSHA256=own_checksum)
    etag = collection.s3.list_parts(Bucket=collection.bucket, Key=upload.plan.dump_key,
                                    UploadId=upload.plan.upload_id)["Parts"][1]["ETag"].strip('"')
    result_key = collection.keys.collector_key(CollectorAction.UPLOAD, "result")
    text = collection.text(result_key)
    genuine_etag = next(line for line in text.splitlines() if line.startswith("part=2 ")).split()[1]
    collection.s3.put_object(Bucket=collection.bucket, Key=result_key, Body=text.replace(genuine_etag, etag).encode())

    # When the workflow completes, Then S3's composite is not the one signed for: kept, tagged, named
    signed = re.escape(upload.plan.parts_sha256)
    with pytest.raises(CollectionFailed, match=rf"UNVERIFIED dump kept at s3://{collection.bucket}/"
                                               rf"{upload.plan.dump_key} .*S3's composite SHA-256 is .*-3, "
                                               rf"the part URLs were signed for {signed}-3"):
        collection.complete(upload, located, genuine.stdout)
    assert kept_unverified(collection, upload)


def test_a_forged_result_object_fails_and_the_dump_stays_unverified(
    shell: str, instance: InstanceRoot, collection: Collection
) -> None:
    # Given a genuine upload, then someone holding the result URL (and the SSM output) writes a result
    # describing other bytes, its dump_sha256 copied from the stdout
    instance.write(f"{RHEL_DIR}/vmcore", os.urandom(4096), FRESH)
    located, upload = plan(collection, shell, instance)
    genuine = run_linux_collector(shell, instance, "upload", upload.manifest_url)
    assert genuine.returncode == 0, genuine.stderr
    assert genuine.stdout.startswith(f"ssm_parts_sha256={upload.plan.parts_sha256}\nssm_dump_sha256=")
    result_key = collection.keys.collector_key(CollectorAction.UPLOAD, "result")
    text = collection.text(result_key)
    genuine_line = next(line for line in text.splitlines() if line.startswith("part=1 "))
    forged_hash = hashlib.sha256(b"other bytes").hexdigest()
    forged = text.replace(genuine_line, " ".join([*genuine_line.split()[:2], forged_hash]))
    collection.s3.put_object(Bucket=collection.bucket, Key=result_key, Body=forged.encode())

    with pytest.raises(CollectionFailed, match=r"UNVERIFIED dump kept at .*the upload result's part hashes do not "
                                               r"hash to the SSM value: the result object was replaced"):
        collection.complete(upload, located, genuine.stdout)
    assert kept_unverified(collection, upload)


def test_the_stdout_hash_of_a_different_dump_fails_and_the_dump_stays_unverified(
    shell: str, instance: InstanceRoot, collection: Collection
) -> None:
    instance.write(f"{RHEL_DIR}/vmcore", os.urandom(4096), FRESH)
    located, upload = plan(collection, shell, instance)
    genuine = run_linux_collector(shell, instance, "upload", upload.manifest_url)
    assert genuine.returncode == 0, genuine.stderr
    other = base64.b64encode(hashlib.sha256(hashlib.sha256(b"another dump").digest()).digest()).decode()
    stdout = genuine.stdout.replace(f"ssm_parts_sha256={upload.plan.parts_sha256}", f"ssm_parts_sha256={other}")

    with pytest.raises(CollectionFailed, match=rf"UNVERIFIED dump kept at .*the upload command printed "
                                               rf"parts_sha256={re.escape(other)} over SSM"):
        collection.complete(upload, located, stdout)
    assert kept_unverified(collection, upload)


def test_a_locate_result_that_does_not_hash_to_its_stdout_is_never_planned(
    shell: str, instance: InstanceRoot, collection: Collection
) -> None:
    instance.write(f"{RHEL_DIR}/vmcore", os.urandom(4096), FRESH)
    _, located = collection.locate(shell, instance, INTERRUPTED_AT)
    forged = located.model_copy(update={"part_hashes": (hashlib.sha256(b"other").hexdigest(),)})
    with pytest.raises(CollectionFailed, match="the result object was replaced"):
        collection.plan(forged)
    assert collection.s3.list_multipart_uploads(Bucket=collection.bucket).get("Uploads", []) == []


def get_status(url: str, headers: dict[str, str]) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_the_manifest_urls_a_reader_of_send_command_sees_do_not_work(
    shell: str, instance: InstanceRoot, collection: Collection
) -> None:
    # Given both manifest URLs, as ListCommands shows them to a read-only principal
    instance.write(f"{RHEL_DIR}/vmcore", os.urandom(4096), FRESH)
    issued = write_locate_manifest(collection.s3, bucket=collection.bucket, keys=collection.keys,
                                   interrupted_at=INTERRUPTED_AT)
    ran = run_linux_collector(shell, instance, "locate", issued.manifest_url)
    collection.locate_stdout = ran.stdout
    located = read_locate_result(collection.s3, bucket=collection.bucket, keys=collection.keys)
    upload = collection.plan(located)

    # Then the spent locate manifest is gone, every version, and the upload one needs the collector's key
    assert get_status(issued.manifest_url, {}) == 404
    assert get_status(upload.manifest_url, {}) == 403
    assert get_status(upload.manifest_url, {MANIFEST_KEY_HEADER: base64.b64encode(os.urandom(32)).decode()}) == 403
    assert get_status(upload.manifest_url, {MANIFEST_KEY_HEADER: located.manifest_key or ""}) == 200
    # and the collector's own run works, the key used once
    result = run_linux_collector(shell, instance, "upload", upload.manifest_url)
    assert result.returncode == 0, result.stderr
    assert not (instance.path / "var/lib/panic-button/manifest.key").exists()
