"""The workflow side's own rules: part sizes, the text formats, and the S3 bookkeeping around them."""

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from panic_button.errors import CollectionFailed, NoDumpFound
from panic_button.logic.collection_plan import (
    choose_part_size,
    collection_keys,
    plan_upload,
    read_locate_result,
    write_locate_manifest,
)
from panic_button.models.collection import (
    MIB,
    CollectorAction,
    FoundFile,
    LocateResult,
    Manifest,
    UploadedPart,
    UploadResult,
)

GIB = 1024 * MIB
KEYS = collection_keys("i-0123456789abcdef0", "exec-1")


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (1, 64 * MIB),
        (1 * GIB, 64 * MIB),
        (625 * GIB, 64 * MIB),  # 64 MiB parts reach 625 GiB in 10,000 parts
        (1000 * GIB, 103 * MIB),
        (5 * 1024 * GIB, 525 * MIB),
    ],
)
def test_part_size_keeps_parts_whole_mib_and_at_most_10000(size: int, expected: int) -> None:
    chosen = choose_part_size(size)
    assert chosen == expected and chosen % MIB == 0 and -(-size // chosen) <= 10_000


def test_part_size_limits() -> None:
    with pytest.raises(CollectionFailed, match="5 TiB"):
        choose_part_size(5 * 1024 * GIB + 1)
    for bad in (4 * MIB, 5 * MIB + 1, 6 * GIB):
        with pytest.raises(ValueError, match="whole MiB between"):
            choose_part_size(GIB, bad)
    assert choose_part_size(100 * GIB, 5 * MIB) == 11 * MIB  # a minimum below 10,000 parts' need is raised
    assert choose_part_size(300 * MIB, 8 * MIB) == 8 * MIB


def test_part_size_shrinks_to_the_scratch_space_for_two_parts() -> None:
    assert choose_part_size(10 * GIB, scratch_free=100 * MIB) == 42 * MIB  # (100 - 16) / 2
    assert choose_part_size(10 * GIB, scratch_free=10 * GIB) == 64 * MIB
    with pytest.raises(CollectionFailed, match="20 MiB of scratch space"):
        choose_part_size(10 * GIB, scratch_free=20 * MIB)
    with pytest.raises(CollectionFailed, match="two parts of 103 MiB"):
        choose_part_size(1000 * GIB, scratch_free=200 * MIB)


def test_keys_layout() -> None:
    assert KEYS.prefix == "remediations/i-0123456789abcdef0/exec-1/"
    assert KEYS.dump_key("/var/crash/202605011000/dump.202605011000.gz").endswith("/dump/dump.202605011000.gz")
    assert KEYS.dump_key("C:\\Windows\\MEMORY.DMP") == KEYS.prefix + "dump/MEMORY.DMP"
    assert KEYS.collector_key(CollectorAction.UPLOAD, "log") == KEYS.prefix + "collector/upload.log"
    assert KEYS.dump_manifest_key == KEYS.prefix + "dump/manifest.json"


def test_manifest_round_trip_and_damage() -> None:
    manifest = Manifest(
        action=CollectorAction.UPLOAD,
        not_before=1_700_000_000,
        result_url="https://r/x?a=1",
        log_url="https://l/x?a=1",
        expect_path="/var/crash/a b/vmcore",
        expect_size=10,
        part_size=8 * MIB,
        part_checksums=("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=", "pyZWkm6RFqVJbElnQg0d9KLHeUtVgfzxbxt5JkJkjBA="),
        part_urls=("https://p/1?a=1", "https://p/2?a=1"),
        dmesg_url="https://d/x?a=1",
    )
    text = manifest.to_text()
    assert text.startswith("panic-button-manifest 1\naction upload\n") and text.endswith("\nend\n")
    assert "part 2 pyZWkm6RFqVJbElnQg0d9KLHeUtVgfzxbxt5JkJkjBA= https://p/2?a=1\n" in text
    assert Manifest.from_text(text) == manifest
    with pytest.raises(ValueError, match="not a complete"):
        Manifest.from_text(text.replace("\nend\n", "\n"))
    with pytest.raises(ValueError, match="out of order"):
        Manifest.from_text(text.replace("part 2 ", "part 3 "))


def test_results_parse_paths_with_spaces_and_equals_signs() -> None:
    located = LocateResult.from_text(
        "protocol=1\naction=locate\nstatus=found\nnot_before=100\nlayout=debian\n"
        "dump_path=/var/crash/a=b c/dump.202605011000\ndump_size=5\ndump_mtime=200\n"
        "older=7 50 /var/crash/old dir/vmcore\nincomplete=0 150 /x/vmcore\nsearched=/var/crash\nnoise\n"
    )
    assert located.dump_path == "/var/crash/a=b c/dump.202605011000"
    assert located.older == (FoundFile(size=7, mtime=50, path="/var/crash/old dir/vmcore"),)
    assert located.recent_incomplete() == (FoundFile(size=0, mtime=150, path="/x/vmcore"),)
    uploaded = UploadResult.from_text("status=uploaded\npart=1 abc 00ff\npart=2 def 11ee\ndmesg_source=\n")
    assert uploaded.parts == (
        UploadedPart(number=1, etag="abc", sha256="00ff"),
        UploadedPart(number=2, etag="def", sha256="11ee"),
    )
    assert uploaded.dmesg_source == "none"


def test_presigning_must_be_sigv4(moto_port: int, bucket: str) -> None:
    sigv2 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{moto_port}",
        region_name="us-east-1",
        aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key="secret",
    )
    with pytest.raises(ValueError, match="SigV4"):
        write_locate_manifest(sigv2, bucket=bucket, keys=KEYS, interrupted_at=datetime.now(UTC))


def test_a_new_manifest_removes_a_stale_result(s3: Any, bucket: str) -> None:
    result_key = KEYS.collector_key(CollectorAction.LOCATE, "result")
    s3.put_object(Bucket=bucket, Key=result_key, Body=b"status=found\n")
    handle = write_locate_manifest(s3, bucket=bucket, keys=KEYS, interrupted_at=datetime.now(UTC))
    assert s3.list_objects_v2(Bucket=bucket, Prefix=result_key).get("KeyCount") == 0
    assert handle.handle.result_key == result_key and handle.handle.manifest_key.endswith("collector/locate.manifest")


def test_locate_result_falls_back_to_stdout_and_reports_failures(s3: Any, bucket: str) -> None:
    with pytest.raises(CollectionFailed, match="no locate result"):
        read_locate_result(s3, bucket=bucket, keys=KEYS)
    assert read_locate_result(s3, bucket=bucket, keys=KEYS, fallback_text="status=none\n").status == "none"
    with pytest.raises(CollectionFailed, match="locate failed on the instance: disk gone"):
        read_locate_result(s3, bucket=bucket, keys=KEYS, fallback_text="status=failed\nerror=disk gone\n")
    with pytest.raises(CollectionFailed, match="unreadable locate result"):
        read_locate_result(s3, bucket=bucket, keys=KEYS, fallback_text="status=maybe\n")


def test_no_upload_is_planned_without_a_dump(s3: Any, bucket: str) -> None:
    located = LocateResult.from_text("status=none\nnot_before=1\n")
    with pytest.raises(NoDumpFound):
        plan_upload(s3, bucket=bucket, keys=KEYS, located=located, locate_stdout="")
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
