"""`upload`: the real collect_dump.sh ships dumps as S3 multipart uploads through presigned URLs, and
the workflow completes, verifies (SHA-256 streamed back) or aborts."""

import hashlib
import json
import os
import signal
import time
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
from panic_button.logic.collection_protocol import complete_upload, plan_upload
from panic_button.models.collection import MIB, CollectorAction, LocateResult, UploadPlan

from panic_button_sandbox.presigning import lambda_like_s3_client as s3_client

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
    collection: Collection, shell: str, instance: InstanceRoot, client: Any = None, **options: Any
) -> tuple[LocateResult, UploadPlan]:
    _, located = collection.locate(shell, instance, INTERRUPTED_AT)
    return located, plan_upload(
        client or collection.s3, bucket=collection.bucket, keys=collection.keys, located=located, **options
    )


def nothing_left_behind(collection: Collection) -> bool:
    uploads = collection.s3.list_multipart_uploads(Bucket=collection.bucket).get("Uploads", [])
    listed = collection.s3.list_objects_v2(Bucket=collection.bucket).get("Contents", [])
    return not uploads and not [o["Key"] for o in listed if o["Key"].endswith(".manifest")]


def test_small_dump_end_to_end(shell: str, instance: InstanceRoot, collection: Collection, kms_key_id: str) -> None:
    dump = instance.write(f"{RHEL_DIR}/vmcore", os.urandom(300_000), FRESH)
    instance.write(f"{RHEL_DIR}/vmcore-dmesg.txt", DMESG, FRESH)
    located, upload = plan(collection, shell, instance)
    result = run_linux_collector(shell, instance, "upload", upload.manifest.manifest_url)
    assert (result.returncode, result.stderr) == (0, "")
    assert "status=uploaded" in result.stdout and "X-Amz-Signature" not in result.stdout

    collected = complete_upload(collection.s3, plan=upload, located=located)

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
    assert upload.part_count == 4

    process, peak, stdout, stderr = peak_memory(
        lambda: start_linux_collector(shell, instance, "upload", upload.manifest.manifest_url)
    )
    assert process.returncode == 0, stderr
    collected = complete_upload(collection.s3, plan=upload, located=located)

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
    result = run_linux_collector(shell, instance, "upload", upload.manifest.manifest_url)
    assert result.returncode == 0, result.stderr
    assert sum("partNumber=2&" in path for path in proxy.seen) == 2
    log = collection.text(collection.keys.collector_key(CollectorAction.UPLOAD, "log"))
    assert "part 2: attempt 1 failed: HTTP 500 InternalError" in log and "part 2 uploaded (attempt 2)" in log
    collected = complete_upload(collection.s3, plan=upload, located=located)
    assert collected.manifest.dump.sha256 == sha256_file(dump)


def test_corruption_in_transit_fails_verification_and_keeps_nothing(
    shell: str, instance: InstanceRoot, collection: Collection, proxy: FaultyProxy
) -> None:
    instance.sparse(f"{RHEL_DIR}/vmcore", 12 * MIB, FRESH)
    located, upload = plan(collection, shell, instance, client=s3_client(proxy.url), part_size=5 * MIB)
    proxy.corrupt.add("partNumber=1&")
    result = run_linux_collector(shell, instance, "upload", upload.manifest.manifest_url)
    assert result.returncode == 0, result.stderr  # the collector cannot see it: S3 got other bytes

    with pytest.raises(CollectionFailed, match=r"does not match the collector's .*parts differing: \[1\]"):
        complete_upload(collection.s3, plan=upload, located=located)
    listed = collection.s3.list_objects_v2(Bucket=collection.bucket).get("Contents", [])
    assert not [o for o in listed if o["Key"] == upload.dump_key]
    assert nothing_left_behind(collection)


def test_a_killed_collector_still_reports_and_cleans_up(
    shell: str, instance: InstanceRoot, collection: Collection, proxy: FaultyProxy
) -> None:
    instance.sparse(f"{RHEL_DIR}/vmcore", 6 * MIB, FRESH)
    located, upload = plan(collection, shell, instance, client=s3_client(proxy.url), part_size=5 * MIB)
    proxy.stall.add("partNumber=2&")
    process = start_linux_collector(shell, instance, "upload", upload.manifest.manifest_url)
    assert proxy.stalled.wait(60)
    os.killpg(process.pid, signal.SIGTERM)  # an operator's kill; the agent's own is SIGKILL (test_collector_scratch)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1 and stderr == "collect_dump: interrupted by a signal\n"
    result = collection.text(collection.keys.collector_key(CollectorAction.UPLOAD, "result"))
    assert "status=failed\nerror=interrupted by a signal\n" in result
    assert instance.leftovers() == []
    with pytest.raises(CollectionFailed, match="the collector failed: interrupted by a signal"):
        complete_upload(collection.s3, plan=upload, located=located)
    assert nothing_left_behind(collection)


def test_a_wrong_etag_aborts_the_upload(shell: str, instance: InstanceRoot, collection: Collection) -> None:
    instance.write(f"{RHEL_DIR}/vmcore", os.urandom(1000), FRESH)
    located, upload = plan(collection, shell, instance)
    assert run_linux_collector(shell, instance, "upload", upload.manifest.manifest_url).returncode == 0
    result_key = collection.keys.collector_key(CollectorAction.UPLOAD, "result")
    text = collection.text(result_key)
    etag = next(line for line in text.splitlines() if line.startswith("part=1 ")).split()[1]
    collection.s3.put_object(Bucket=collection.bucket, Key=result_key, Body=text.replace(etag, "0" * 32))
    with pytest.raises(CollectionFailed, match="CompleteMultipartUpload failed"):
        complete_upload(collection.s3, plan=upload, located=located)
    assert nothing_left_behind(collection)


def test_a_dump_that_changed_since_locate_is_not_shipped(
    shell: str, instance: InstanceRoot, collection: Collection
) -> None:
    dump = instance.write(f"{RHEL_DIR}/vmcore", os.urandom(1000), FRESH)
    located, upload = plan(collection, shell, instance)
    with dump.open("ab") as handle:
        handle.write(b"more")
    result = run_linux_collector(shell, instance, "upload", upload.manifest.manifest_url)
    assert result.returncode == 1
    assert result.stderr == f"collect_dump: /{RHEL_DIR}/vmcore is 1004 bytes, expected 1000\n"
    with pytest.raises(CollectionFailed, match=r"the collector failed: .* is 1004 bytes, expected 1000"):
        complete_upload(collection.s3, plan=upload, located=located)
    assert nothing_left_behind(collection)


def test_no_result_at_all_aborts(shell: str, instance: InstanceRoot, collection: Collection) -> None:
    instance.write(f"{RHEL_DIR}/vmcore", os.urandom(1000), FRESH)
    located, upload = plan(collection, shell, instance)
    with pytest.raises(CollectionFailed, match="the collector wrote no upload result"):
        complete_upload(collection.s3, plan=upload, located=located)
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
    result = run_linux_collector(shell, instance, "upload", upload.manifest.manifest_url, extra_path=tools)
    assert "dmesg_source=makedumpfile\n" in result.stdout and "kernel=6.12.0-stub.x86_64\n" in result.stdout
    collected = complete_upload(collection.s3, plan=upload, located=located)
    assert collected.manifest.dmesg is not None
    assert collected.manifest.dmesg.source_path == "makedumpfile --dump-dmesg"
    assert collected.manifest.kernel_release == "6.12.0-stub.x86_64"


def test_a_given_kms_key_encrypts_the_dump(
    shell: str, instance: InstanceRoot, collection: Collection, kms: Any
) -> None:
    own_key = kms.create_key(Description="dumps only")["KeyMetadata"]["KeyId"]
    instance.write(f"{RHEL_DIR}/vmcore", os.urandom(1000), FRESH)
    located, upload = plan(collection, shell, instance, kms_key_id=own_key)
    assert run_linux_collector(shell, instance, "upload", upload.manifest.manifest_url).returncode == 0
    complete_upload(collection.s3, plan=upload, located=located)
    for key in (upload.dump_key, collection.keys.dump_manifest_key):
        assert collection.s3.head_object(Bucket=collection.bucket, Key=key)["SSEKMSKeyId"] == own_key


def test_a_result_forged_through_leaked_urls_fails_against_the_ssm_stdout(
    shell: str, instance: InstanceRoot, collection: Collection
) -> None:
    # Given a genuine upload, then someone holding the leaked part and result URLs swaps in their own bytes
    # and a result whose hashes match them
    instance.write(f"{RHEL_DIR}/vmcore", os.urandom(4096), FRESH)
    located, upload = plan(collection, shell, instance)
    genuine = run_linux_collector(shell, instance, "upload", upload.manifest.manifest_url)
    assert genuine.returncode == 0, genuine.stderr
    assert genuine.stdout.rstrip().splitlines()[-1].startswith("ssm_dump_sha256=")
    forged = os.urandom(4096)
    etag = collection.s3.upload_part(Bucket=collection.bucket, Key=upload.dump_key, UploadId=upload.upload_id,
                                     PartNumber=1, Body=forged)["ETag"].strip('"')
    result_key = collection.keys.collector_key(CollectorAction.UPLOAD, "result")
    forged_hash = hashlib.sha256(forged).hexdigest()
    lines = [line for line in collection.text(result_key).splitlines()
             if not line.startswith(("dump_sha256=", "part="))]
    lines += [f"dump_sha256={forged_hash}", f"part=1 {etag} {forged_hash}"]
    collection.s3.put_object(Bucket=collection.bucket, Key=result_key, Body="\n".join(lines).encode() + b"\n")

    # When the workflow completes with what SSM delivered, Then the forgery is refused and nothing is kept
    with pytest.raises(CollectionFailed, match="reported over SSM"):
        complete_upload(collection.s3, plan=upload, located=located, fallback_text=genuine.stdout)
    assert nothing_left_behind(collection)
