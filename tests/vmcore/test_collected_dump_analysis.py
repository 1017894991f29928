"""The triage step with the vmcore analysis: one report beside the dump, never a silent skip."""

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from panic_button.logic.dump_triage import triage_collected_dump
from panic_button.models.state import Artifact, Collection

BUCKET = "evidence"
FOLDER = "remediations/i-0abc/exec-1/dump"
DEBIAN_LOG = Path(__file__).parents[1] / "triage" / "corpus" / "debian12-nmi-panic.vmcore-dmesg.txt"


@pytest.fixture
def s3() -> Any:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_object(Bucket=BUCKET, Key=f"{FOLDER}/vmcore-dmesg.txt", Body=DEBIAN_LOG.read_bytes())
        yield client


def _collection(s3: Any, dump: bytes) -> Collection:
    s3.put_object(Bucket=BUCKET, Key=f"{FOLDER}/dump.202612011943", Body=dump)
    return Collection(
        artifacts=[Artifact(kind="dump", s3_uri=f"s3://{BUCKET}/{FOLDER}/dump.202612011943", bytes=len(dump))],
        dump_bytes=len(dump),
        dmesg_uri=f"s3://{BUCKET}/{FOLDER}/vmcore-dmesg.txt",
    )


def _report(s3: Any) -> dict[str, Any]:
    return dict(json.loads(s3.get_object(Bucket=BUCKET, Key=f"{FOLDER}/report.json")["Body"].read()))


def test_a_dump_too_large_for_the_function_is_reported_with_the_local_command(s3: Any) -> None:
    collection = _collection(s3, b"KDUMP   " + b"\0" * 2048)

    triage = triage_collected_dump(s3, bucket=BUCKET, collection=collection, max_dump_bytes=1024)

    report = _report(s3)
    assert triage.vmcore_status == "too_large"
    assert report["vmcore"]["status"] == "too_large"
    assert f"`panic-button analyze s3://{BUCKET}/{FOLDER}/dump.202612011943`" in report["vmcore"]["error"]
    # The log triage still ran, and its summary and headline are what the notification carries
    assert report["kernel_log"]["panic_cause"] == "diagnostic_nmi"
    assert triage.summary[1].startswith("Cause: diagnostic interrupt")
    assert triage.culprit == triage.summary[0]
    markdown = s3.get_object(Bucket=BUCKET, Key=f"{FOLDER}/report.md")["Body"].read().decode()
    assert "## Kernel log triage" in markdown and "panic-button analyze s3://" in markdown


def test_a_dump_drgn_cannot_read_fails_its_analysis_but_not_the_triage(s3: Any) -> None:
    collection = _collection(s3, b"not a kdump file at all")

    triage = triage_collected_dump(s3, bucket=BUCKET, collection=collection)

    report = _report(s3)
    assert triage.vmcore_status == "failed"
    assert "cannot open" in report["vmcore"]["error"]
    assert triage.report_uri == f"s3://{BUCKET}/{FOLDER}/report.json"
    assert triage.culprit is not None and "Kernel panic - not syncing" in triage.culprit


def test_a_log_without_a_dump_keeps_the_log_only_report(s3: Any) -> None:
    collection = Collection(dmesg_uri=f"s3://{BUCKET}/{FOLDER}/vmcore-dmesg.txt")

    triage = triage_collected_dump(s3, bucket=BUCKET, collection=collection)

    report = _report(s3)
    assert triage.vmcore_status is None and report["vmcore"] is None
    assert report["kernel_log"]["panic_cause"] == "diagnostic_nmi"


def test_the_markdown_says_how_to_open_the_dump_and_which_symbols_it_needs(s3: Any) -> None:
    collection = _collection(s3, b"not a kdump file at all")

    triage_collected_dump(s3, bucket=BUCKET, collection=collection)

    markdown = s3.get_object(Bucket=BUCKET, Key=f"{FOLDER}/report.md")["Body"].read().decode()
    section = markdown[markdown.index("## Open it yourself"):markdown.index("## Kernel log triage")]
    dump_uri = next(a.s3_uri for a in collection.artifacts if a.kind == "dump")
    local = dump_uri.rsplit("/", 1)[-1]
    # The release the kernel reports and the distro's own version of that build, side by side
    assert "Kernel 6.1.0-56-amd64 (Debian 6.1.192-2); its debug symbols: `linux-image-6.1.0-56-amd64-dbg`" in section
    assert f"aws s3 cp {dump_uri} ./{local}" in section
    assert f"crash /usr/lib/debug/boot/vmlinux-6.1.0-56-amd64 ./{local}" in section
    assert f"drgn -c ./{local} -s /usr/lib/debug/boot/vmlinux-6.1.0-56-amd64" in section
