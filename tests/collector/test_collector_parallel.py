"""Parallel part uploads: the manifest's parallel_parts bounds the parts in flight, the scratch space and
tmpfs lower it, a failing part stops new ones and the result waits for those in flight, and the dump is
verified exactly as a one-at-a-time upload is. The proxy counts the part PUTs in flight; its `gather`
holds the first ones until that many are in flight, so a one-at-a-time collector would show 1."""

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from collector_harness import SHELLS, Collection, FaultyProxy, InstanceRoot, run_linux_collector, start_linux_collector
from panic_button.models.collection import MIB, CollectorAction, LocateResult, PlannedUpload, UploadResult

from panic_button_sandbox.presigning import lambda_like_s3_client as s3_client
from tests.collector.test_collector_upload import failed_and_left_nothing, nothing_left_behind, sha256_file

INTERRUPTED_AT = datetime.now(UTC) - timedelta(seconds=60)
FRESH = time.time() - 30
DUMP = "var/crash/127.0.0.1-2026-05-01-10:00:00/vmcore"
PART = 5 * MIB


@pytest.fixture
def collection(s3: Any, bucket: str) -> Collection:
    return Collection(s3, bucket)


def planned(collection: Collection, shell: str, instance: InstanceRoot, proxy: FaultyProxy, *, parts: int,
            parallel_parts: int) -> tuple[Path, LocateResult, PlannedUpload]:
    dump = instance.sparse(DUMP, parts * PART - 123, FRESH)
    _, located = collection.locate(shell, instance, INTERRUPTED_AT, min_part_size=PART)
    upload = collection.plan(located, s3_client(proxy.url), min_part_size=PART, parallel_parts=parallel_parts)
    assert upload.plan.part_count == parts
    return dump, located, upload


def shim(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(f"#!/bin/sh\n{body}")
    (folder / name).chmod(0o755)
    return folder


@pytest.mark.parametrize("parallel_parts", [1, 3])
def test_parts_go_up_at_most_parallel_parts_at_a_time(
    shell: str, parallel_parts: int, instance: InstanceRoot, collection: Collection, proxy: FaultyProxy
) -> None:
    dump, located, upload = planned(collection, shell, instance, proxy, parts=6, parallel_parts=parallel_parts)
    proxy.gather = parallel_parts
    result = run_linux_collector(shell, instance, "upload", upload.manifest_url)
    assert (result.returncode, result.stderr) == (0, "")

    assert proxy.most_parts_in_flight == parallel_parts
    reported = UploadResult.from_text(result.stdout)
    assert reported.parallel_parts == parallel_parts
    assert [p.number for p in reported.parts] == [1, 2, 3, 4, 5, 6]  # in order, whatever order they ended in
    collected = collection.complete(upload, located, result.stdout)
    assert collected.manifest.dump.sha256 == sha256_file(dump)
    assert nothing_left_behind(collection) and instance.leftovers() == []


@pytest.mark.parametrize("shell", SHELLS[:1])
def test_a_failing_part_starts_no_more_and_the_result_waits_for_those_in_flight(
    shell: str, instance: InstanceRoot, collection: Collection, proxy: FaultyProxy
) -> None:
    _, located, upload = planned(collection, shell, instance, proxy, parts=8, parallel_parts=2)
    proxy.hold.add("partNumber=1&")
    proxy.corrupt.add("partNumber=2&")  # S3 answers 400 BadDigest: final, no retry
    process = start_linux_collector(shell, instance, "upload", upload.manifest_url)
    deadline = time.monotonic() + 120
    while not (any("partNumber=2&" in path for path in proxy.seen) and proxy.parts_in_flight == 1):
        assert time.monotonic() < deadline and process.poll() is None, "part 2 never failed beside part 1"
        time.sleep(0.05)
    time.sleep(0.5)
    assert process.poll() is None  # part 1 is still going up: no result yet

    proxy.released.set()
    _, stderr = process.communicate(timeout=120)
    assert (process.returncode, stderr) == (1, "collect_dump: part 2 failed after 1 attempts: HTTP 400 BadDigest\n")
    assert proxy.parts_in_flight == 0  # nothing went on after the collector ended
    assert not [path for path in proxy.seen if "partNumber=3&" in path]  # no part started after the failure
    failed_and_left_nothing(collection, instance, upload, located, "part 2 failed after 1 attempts: HTTP 400 BadDigest")


@pytest.mark.parametrize("shell", SHELLS[:1])
def test_the_parts_in_flight_fit_the_scratch_space(
    shell: str, tmp_path: Path, instance: InstanceRoot, collection: Collection, proxy: FaultyProxy
) -> None:
    _, located, upload = planned(collection, shell, instance, proxy, parts=6, parallel_parts=4)
    # df reports room for three parts (and the 1 MiB margin) in the collector's workspace: two in flight,
    # one being prepared. /var/tmp itself looks large, so the workspace stays there.
    room_kib = (3 * PART + MIB + MIB // 2) // 1024
    shims = shim(tmp_path / "shims", "df", f'for last; do :; done\ncase $last in */var/tmp) kib=104857600 ;; '
                 f'*) kib={room_kib} ;; esac\nprintf "Filesystem 1024-blocks Used Available Capacity Mounted on\\n'
                 f'shim 209715200 0 %s 0%% /\\n" "$kib"\n')
    proxy.gather = 2
    result = run_linux_collector(shell, instance, "upload", upload.manifest_url, extra_path=shims)
    assert (result.returncode, result.stderr) == (0, "")

    assert proxy.most_parts_in_flight == 2
    assert UploadResult.from_text(result.stdout).parallel_parts == 2
    log = collection.text(collection.keys.collector_key(CollectorAction.UPLOAD, "log"))
    assert "2 parts in flight, not 4: 3 fit in" in log
    collection.complete(upload, located, result.stdout)


@pytest.mark.parametrize("shell", SHELLS[:1])
def test_scratch_space_on_tmpfs_takes_one_part_at_a_time(
    shell: str, tmp_path: Path, instance: InstanceRoot, collection: Collection, proxy: FaultyProxy
) -> None:
    _, located, upload = planned(collection, shell, instance, proxy, parts=4, parallel_parts=4)
    real_stat = shutil.which("stat")
    shims = shim(tmp_path / "shims", "stat", f'[ "$1" = -f ] && {{ echo tmpfs; exit 0; }}\nexec {real_stat} "$@"\n')
    result = run_linux_collector(shell, instance, "upload", upload.manifest_url, extra_path=shims)
    assert (result.returncode, result.stderr) == (0, "")

    assert proxy.most_parts_in_flight == 1
    reported = UploadResult.from_text(result.stdout)
    assert reported.parallel_parts == 1
    assert any("is tmpfs (RAM): one part in flight, not 4" in note for note in reported.notes)
    collection.complete(upload, located, result.stdout)
