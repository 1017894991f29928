"""The Windows collector's contract, through its Python emulation (PowerShell cannot run here): the same
manifests, results and multipart upload against moto, as the sandbox's SSM agent runs it."""

import hashlib
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from collector_harness import Collection, FaultyProxy, InstanceRoot
from panic_button.logic.collection_plan import read_locate_result, write_locate_manifest
from panic_button.models.collection import MIB, CollectorAction, DumpLayout, LocateResult

from panic_button_sandbox.presigning import lambda_like_s3_client as s3_client
from panic_button_sandbox.windows_collector import run_windows_collector

INTERRUPTED_AT = datetime.now(UTC) - timedelta(seconds=60)
FRESH = time.time() - 30
OLD = time.time() - 86_400


@pytest.fixture
def collection(s3: Any, bucket: str) -> Collection:
    return Collection(s3, bucket)


def locate(collection: Collection, instance: InstanceRoot) -> tuple[tuple[int, str, str], LocateResult]:
    handle = write_locate_manifest(
        collection.s3, bucket=collection.bucket, keys=collection.keys, interrupted_at=INTERRUPTED_AT,
        min_part_size=5 * MIB,
    )
    outcome = run_windows_collector({"Action": "locate", "ManifestUrl": handle.manifest_url}, instance.path)
    collection.locate_stdout = outcome[1]
    return outcome, read_locate_result(collection.s3, bucket=collection.bucket, keys=collection.keys)


def test_memory_dump_end_to_end(instance: InstanceRoot, collection: Collection) -> None:
    dump = instance.sparse("Windows/MEMORY.DMP", 12 * MIB, FRESH)
    instance.write("Windows/Minidump/050126-12906-01.dmp", os.urandom(300_000), FRESH)
    instance.write("Windows/Minidump/010126-10000-01.dmp", os.urandom(200_000), OLD)
    (rc, stdout, _), located = locate(collection, instance)
    assert rc == 0 and LocateResult.from_text(stdout) == located.model_copy(update={"manifest_key": None})
    assert (located.layout, located.dump_path) == (DumpLayout.WINDOWS_MEMORY, "C:\\Windows\\MEMORY.DMP")
    assert [f.path for f in located.other] == ["C:\\Windows\\Minidump\\050126-12906-01.dmp"]
    assert [f.path for f in located.older] == ["C:\\Windows\\Minidump\\010126-10000-01.dmp"]

    upload = collection.plan(located, min_part_size=5 * MIB)
    rc, stdout, stderr = run_windows_collector(
        {"Action": "upload", "ManifestUrl": upload.manifest_url, "ExecutionTimeout": "3600"}, instance.path
    )
    assert (rc, stderr) == (0, "") and stdout.count("\npart=") == 3
    collected = collection.complete(upload, located, stdout)

    assert upload.plan.dump_key.endswith("/dump/MEMORY.DMP")
    assert collected.manifest.dump.sha256 == hashlib.sha256(dump.read_bytes()).hexdigest()
    assert [a.kind for a in collected.artifacts] == ["dump", "manifest"]  # Windows ships no dmesg
    log = collection.text(collection.keys.collector_key(CollectorAction.UPLOAD, "log"))
    assert "part 3 uploaded (attempt 1)" in log


def test_a_fresh_minidump_is_shipped_when_the_full_dump_is_old(instance: InstanceRoot, collection: Collection) -> None:
    instance.write("Windows/MEMORY.DMP", os.urandom(50_000), OLD)
    instance.write("Windows/Minidump/050126-12906-01.dmp", os.urandom(30_000), FRESH)
    _, located = locate(collection, instance)
    assert (located.layout, located.dump_size) == (DumpLayout.WINDOWS_MINIDUMP, 30_000)
    assert [f.path for f in located.older] == ["C:\\Windows\\MEMORY.DMP"]


def test_nothing_fresh_and_an_empty_dump(instance: InstanceRoot, collection: Collection) -> None:
    instance.write("Windows/MEMORY.DMP", b"", FRESH)
    (rc, _, _), located = locate(collection, instance)
    assert rc == 0 and located.status == "none"
    assert [f.path for f in located.recent_incomplete()] == ["C:\\Windows\\MEMORY.DMP"]


def test_a_failed_part_is_retried(instance: InstanceRoot, collection: Collection, proxy: FaultyProxy) -> None:
    instance.sparse("Windows/MEMORY.DMP", 6 * MIB, FRESH)
    _, located = locate(collection, instance)
    upload = collection.plan(located, s3_client(proxy.url), min_part_size=5 * MIB)
    proxy.fail_once.add("partNumber=1&")
    rc, stdout, stderr = run_windows_collector(
        {"Action": "upload", "ManifestUrl": upload.manifest_url}, instance.path
    )
    assert (rc, stderr) == (0, "")
    assert sum("partNumber=1&" in path for path in proxy.seen) == 2
    collection.complete(upload, located, stdout)


@pytest.mark.parametrize(
    "parameters",
    [
        {"Action": "locate'; Restart-Computer; '", "ManifestUrl": "https://s3.us-east-1.example.test/b/k?x=1"},
        {"Action": "locate", "ManifestUrl": "https://s3.us-east-1.example.test/b/k?x=1'; Restart-Computer"},
    ],
)
def test_bad_parameters_fail_before_any_request(instance: InstanceRoot, parameters: dict[str, str]) -> None:
    rc, stdout, stderr = run_windows_collector(parameters, instance.path)
    assert rc == 1 and "status=failed" in stdout
    assert stderr.startswith("collect_dump: ") and stderr.count("\n") == 1
