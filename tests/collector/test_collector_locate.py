"""`locate`: the real collect_dump.sh (dash and bash) over fake instance roots, with the manifest and
result going through moto S3 via presigned URLs made by the workflow's own functions."""

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from collector_harness import DEBIAN_DMESG, RHEL_DMESG, Collection, InstanceRoot, run_linux_collector
from panic_button.logic.collection import no_dump_reason
from panic_button.models.collection import CollectorAction, DumpLayout, FoundFile, LocateResult

INTERRUPTED_AT = datetime.now(UTC) - timedelta(seconds=60)
FRESH = time.time() - 30
OLD = time.time() - 86_400
RHEL_DIR = "var/crash/127.0.0.1-2026-05-01-10:00:00"


@pytest.fixture
def collection(s3: Any, bucket: str) -> Collection:
    return Collection(s3, bucket)


def test_rhel_layout_with_its_dmesg(shell: str, instance: InstanceRoot, collection: Collection) -> None:
    instance.write(f"{RHEL_DIR}/vmcore", os.urandom(50_000), FRESH)
    instance.write(f"{RHEL_DIR}/vmcore-dmesg.txt", RHEL_DMESG, FRESH)
    instance.write(f"{RHEL_DIR}/vmcore-dmesg-incomplete.txt", "", FRESH)  # seen next to complete dumps
    result, located = collection.locate(shell, instance, INTERRUPTED_AT)
    assert located.status == "found"
    assert located.layout is DumpLayout.RHEL
    assert located.dump_path == f"/{RHEL_DIR}/vmcore"
    assert located.dump_size == 50_000 and located.dump_mtime == int(FRESH)
    assert located.dmesg_path == f"/{RHEL_DIR}/vmcore-dmesg.txt"
    assert (located.kernel, located.kernel_source) == ("5.14.0-427.13.1.el9_4.x86_64", "dmesg")
    assert located.not_before == int(INTERRUPTED_AT.timestamp()) - 120
    assert result.stdout.startswith("ssm_parts_sha256=") and result.stderr == ""
    assert "\nprotocol=1\naction=locate\n" in result.stdout
    assert located.scratch_free and located.scratch_free > 2 * 64 * 1024 * 1024
    # stdout carries the same result, but never the manifest key: SSM output is readable by read-only roles
    assert located.manifest_key and "manifest_key=" not in result.stdout
    assert LocateResult.from_text(result.stdout) == located.model_copy(update={"manifest_key": None})
    log = collection.text(collection.keys.collector_key(CollectorAction.LOCATE, "log"))
    assert f"locate: found /{RHEL_DIR}/vmcore\n" in log and "X-Amz-Signature" not in log + result.stdout
    assert instance.leftovers() == []


@pytest.mark.parametrize("suffix", ["", ".gz", ".lz4"])
def test_debian_layout_compressed_or_not(
    shell: str, instance: InstanceRoot, collection: Collection, suffix: str
) -> None:
    instance.write(f"var/crash/202605011000/dump.202605011000{suffix}", os.urandom(20_000), FRESH)
    instance.write("var/crash/202605011000/dmesg.202605011000", DEBIAN_DMESG, FRESH)
    instance.write("var/crash/kexec_cmd", "kexec -p ...", FRESH)
    _, located = collection.locate(shell, instance, INTERRUPTED_AT)
    assert (located.status, located.layout) == ("found", DumpLayout.DEBIAN)
    assert located.dump_path == f"/var/crash/202605011000/dump.202605011000{suffix}"
    assert located.dmesg_path == "/var/crash/202605011000/dmesg.202605011000"
    assert located.kernel == "6.1.0-18-amd64"


def test_debian_plain_copy_fallback(shell: str, instance: InstanceRoot, collection: Collection) -> None:
    instance.write("var/crash/202605011000/vmcore.202605011000", os.urandom(10_000), FRESH)
    _, located = collection.locate(shell, instance, INTERRUPTED_AT)
    assert (located.layout, located.dump_path) == (
        DumpLayout.DEBIAN_COPY,
        "/var/crash/202605011000/vmcore.202605011000",
    )
    assert located.dmesg_path is None and located.kernel_source == "uname"


def test_older_dumps_are_reported_not_chosen(shell: str, instance: InstanceRoot, collection: Collection) -> None:
    instance.write("var/crash/127.0.0.1-2026-04-01-08:00:00/vmcore", os.urandom(3000), OLD)
    instance.write("var/crash/202604010800/dump.202604010800", os.urandom(2000), OLD - 10)
    _, located = collection.locate(shell, instance, INTERRUPTED_AT)
    assert located.status == "none" and located.dump_path is None
    assert set(located.older) == {
        FoundFile(size=3000, mtime=int(OLD), path="/var/crash/127.0.0.1-2026-04-01-08:00:00/vmcore"),
        FoundFile(size=2000, mtime=int(OLD - 10), path="/var/crash/202604010800/dump.202604010800"),
    }
    instance.write(f"{RHEL_DIR}/vmcore", os.urandom(4000), FRESH)
    _, located = collection.locate(shell, instance, INTERRUPTED_AT)
    assert located.dump_path == f"/{RHEL_DIR}/vmcore" and len(located.older) == 2


def test_a_second_fresh_dump_is_reported_as_other(shell: str, instance: InstanceRoot, collection: Collection) -> None:
    instance.write(f"{RHEL_DIR}/vmcore", os.urandom(4000), FRESH)
    instance.write("var/crash/127.0.0.1-2026-05-01-10:00:05/vmcore", os.urandom(5000), FRESH + 5)
    _, located = collection.locate(shell, instance, INTERRUPTED_AT)
    assert located.dump_path == "/var/crash/127.0.0.1-2026-05-01-10:00:05/vmcore"
    assert [f.path for f in located.other] == [f"/{RHEL_DIR}/vmcore"]


@pytest.mark.parametrize(
    "name",
    [
        f"{RHEL_DIR}/vmcore-incomplete",
        "var/crash/202605011000/dump-incomplete",
        "var/crash/202605011000/dump-incomplete.gz",
        f"{RHEL_DIR}/vmcore",
    ],
)
def test_incomplete_dumps_are_reported_never_chosen(
    shell: str, instance: InstanceRoot, collection: Collection, name: str
) -> None:
    instance.write(name, b"" if name.endswith("/vmcore") else os.urandom(7000), FRESH)  # empty: failed
    _, located = collection.locate(shell, instance, INTERRUPTED_AT)
    assert located.status == "none"
    assert [f.path for f in located.recent_incomplete()] == [f"/{name}"]
    assert "INCOMPLETE dump exists" in no_dump_reason(located)


def test_rhel_kdump_conf_path(shell: str, instance: InstanceRoot, collection: Collection) -> None:
    instance.write("etc/kdump.conf", "# path /nope\npath /data/crash/\ncore_collector makedumpfile -l\n")
    instance.write("data/crash/127.0.0.1-2026-05-01-10:00:00/vmcore", os.urandom(1000), FRESH)
    _, located = collection.locate(shell, instance, INTERRUPTED_AT)
    assert located.dump_path == "/data/crash/127.0.0.1-2026-05-01-10:00:00/vmcore"
    assert located.searched == ("/var/crash", "/data/crash", "/var/spool/abrt")


def test_debian_kdump_coredir(shell: str, instance: InstanceRoot, collection: Collection) -> None:
    instance.write("etc/default/kdump-tools", 'USE_KDUMP=1\nKDUMP_COREDIR="/srv/dumps"  # big disk\n')
    instance.write("srv/dumps/202605011000/dump.202605011000", os.urandom(1000), FRESH)
    _, located = collection.locate(shell, instance, INTERRUPTED_AT)
    assert located.dump_path == "/srv/dumps/202605011000/dump.202605011000"
    assert "/srv/dumps" in located.searched


def test_kdump_targets_off_the_instance_are_noted(shell: str, instance: InstanceRoot, collection: Collection) -> None:
    instance.write("etc/kdump.conf", "nfs dumps.example.com:/export/crash\npath /var/crash\n")
    _, located = collection.locate(shell, instance, INTERRUPTED_AT)
    assert located.status == "none"
    assert located.notes == ("kdump.conf dumps to 'nfs dumps.example.com:/export/crash': that target was not searched",)


def test_abrt_copy_when_the_original_is_gone(shell: str, instance: InstanceRoot, collection: Collection) -> None:
    abrt = "var/spool/abrt/vmcore-127.0.0.1-2026-05-01-10:00:00"
    instance.write(f"{abrt}/vmcore", os.urandom(6000), FRESH)
    instance.write(f"{abrt}/vmcore-dmesg.txt", RHEL_DMESG, FRESH)
    instance.write("var/spool/abrt/vmcore-127.0.0.1-2026-05-01-10:05:00.new/vmcore", os.urandom(100), FRESH)
    _, located = collection.locate(shell, instance, INTERRUPTED_AT)
    assert (located.layout, located.dump_path) == (DumpLayout.ABRT, f"/{abrt}/vmcore")
    assert located.dmesg_path == f"/{abrt}/vmcore-dmesg.txt"
    assert [f.path for f in located.incomplete] == [
        "/var/spool/abrt/vmcore-127.0.0.1-2026-05-01-10:05:00.new/vmcore"
    ]  # a copy in progress


def test_abrt_copy_of_a_present_original_is_the_same_dump(
    shell: str, instance: InstanceRoot, collection: Collection
) -> None:
    instance.write(f"{RHEL_DIR}/vmcore", os.urandom(6000), FRESH)
    instance.write("var/spool/abrt/vmcore-127.0.0.1-2026-05-01-10:00:00/vmcore", os.urandom(6000), FRESH + 20)
    _, located = collection.locate(shell, instance, INTERRUPTED_AT)
    assert (located.layout, located.dump_path) == (DumpLayout.RHEL, f"/{RHEL_DIR}/vmcore")
    assert located.other == ()


def test_abrt_dump_location_from_abrt_conf(shell: str, instance: InstanceRoot, collection: Collection) -> None:
    instance.write("etc/abrt/abrt.conf", "DumpLocation = /var/tmp/abrt\n")
    instance.write("var/tmp/abrt/vmcore-127.0.0.1-2026-05-01-10:00:00/vmcore", os.urandom(100), FRESH)
    _, located = collection.locate(shell, instance, INTERRUPTED_AT)
    assert located.layout is DumpLayout.ABRT and "/var/tmp/abrt" in located.searched


def test_no_dump_at_all(shell: str, instance: InstanceRoot, collection: Collection) -> None:
    _, located = collection.locate(shell, instance, INTERRUPTED_AT)
    assert located.status == "none"
    assert (located.older, located.incomplete, located.other) == ((), (), ())
    assert located.searched == ("/var/crash", "/var/spool/abrt")
    assert located.hostname and located.kernel_source == "uname"


def test_a_symlinked_dump_is_never_reported(shell: str, instance: InstanceRoot, collection: Collection) -> None:
    secret = instance.write("etc/shadow", "root:$6$secret:19000::::::\n", FRESH)
    link = instance.path / RHEL_DIR / "vmcore"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    _, located = collection.locate(shell, instance, INTERRUPTED_AT)
    assert located.status == "none" and located.incomplete == ()


def test_a_manifest_for_the_other_action_fails_and_reports(
    shell: str, instance: InstanceRoot, collection: Collection
) -> None:
    from panic_button.logic.collection_plan import write_locate_manifest

    handle = write_locate_manifest(
        collection.s3, bucket=collection.bucket, keys=collection.keys, interrupted_at=INTERRUPTED_AT
    )
    instance.write("var/lib/panic-button/manifest.key", "a2V5")  # as a locate run leaves it
    result = run_linux_collector(shell, instance, "upload", handle.manifest_url)
    assert result.returncode == 1
    assert result.stderr == "collect_dump: the manifest is for 'locate', not 'upload'\n"
    text = collection.text(collection.keys.collector_key(CollectorAction.LOCATE, "result"))
    assert "status=failed\nerror=the manifest is for 'locate', not 'upload'\n" in text
    assert instance.leftovers() == []


def test_an_unreachable_manifest_fails_with_one_line(shell: str, instance: InstanceRoot) -> None:
    url = "http://127.0.0.1:9/bucket/key?X-Amz-Signature=abc"  # port 9: nothing listens
    result = run_linux_collector(shell, instance, "locate", url)
    assert result.returncode == 1
    assert result.stderr == "collect_dump: cannot fetch the manifest: HTTP 000\n"
    assert result.stdout == "protocol=1\naction=locate\nstatus=failed\nerror=cannot fetch the manifest: HTTP 000\n"


def test_a_dump_dated_in_the_future_is_ignored_and_noted(
    shell: str, instance: InstanceRoot, collection: Collection
) -> None:
    instance.write(f"{RHEL_DIR}/vmcore", os.urandom(4000), FRESH)
    planted = "var/crash/209912312359/dump.209912312359"
    instance.write(planted, os.urandom(4000), time.time() + 10 * 86_400)  # `touch -d 2099...` by a local user
    _, located = collection.locate(shell, instance, INTERRUPTED_AT)
    assert located.dump_path == f"/{RHEL_DIR}/vmcore"
    assert any(f"/{planted}" in note and "future" in note for note in located.notes)


@pytest.mark.skipif(os.geteuid() != 0, reason="planting a file owned by another user needs root (CI runs as root)")
def test_a_dump_planted_by_another_user_is_ignored_and_noted(
    shell: str, instance: InstanceRoot, collection: Collection
) -> None:
    instance.write(f"{RHEL_DIR}/vmcore", os.urandom(4000), FRESH)
    planted = instance.write("var/crash/127.0.0.1-2026-05-01-10:00:09/vmcore", os.urandom(4000), FRESH + 9)
    os.chown(planted, 1000, 1000)  # newer than the real dump, but not written by the dump writer
    _, located = collection.locate(shell, instance, INTERRUPTED_AT)
    assert located.dump_path == f"/{RHEL_DIR}/vmcore"
    assert any("owned by uid 1000" in note for note in located.notes)
