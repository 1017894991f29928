"""`panic-button analyze` on files that are not kernel dumps: the report says so, nothing crashes."""

import json
from pathlib import Path

import pytest

from panic_button_cli.analyze_command import kernel_log_beside
from panic_button_cli.main import main

DEBIAN_LOG = Path(__file__).parents[1] / "triage" / "corpus" / "debian12-nmi-panic.vmcore-dmesg.txt"


def test_a_file_that_is_no_core_dump_gives_a_failed_analysis_and_the_log_triage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dump = tmp_path / "dump.202612011943"
    dump.write_bytes(b"KDUMP   " + b"\0" * 4096)  # the signature, then nothing a reader can use
    (tmp_path / "dmesg.202612011943").write_text(DEBIAN_LOG.read_text())

    code = main(["analyze", str(dump), "--symbols-dir", str(tmp_path / "store")])

    report = json.loads((tmp_path / "report.json").read_text())
    assert code == 1
    assert report["vmcore"]["status"] == "failed"
    assert "cannot open" in report["vmcore"]["error"]
    assert report["kernel_log"]["panic_cause"] == "diagnostic_nmi"
    assert report["culprit"].startswith("Kernel 6.1.0-")  # the log's headline stands in
    assert f"culprit: {report['culprit']}" in capsys.readouterr().out
    assert "# Culprit: " in (tmp_path / "report.md").read_text()


def test_missing_dump_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(tmp_path / "nothing")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_kernel_log_is_found_in_kdump_tools_layout_then_by_common_names(tmp_path: Path) -> None:
    dump = tmp_path / "dump.202612011943"
    (tmp_path / "vmcore-dmesg.txt").write_text("x")
    assert kernel_log_beside(dump) == tmp_path / "vmcore-dmesg.txt"
    (tmp_path / "dmesg.202612011943").write_text("x")
    assert kernel_log_beside(dump) == tmp_path / "dmesg.202612011943"


def test_an_s3_dump_is_fetched_with_the_log_beside_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import boto3
    from moto import mock_aws

    folder = "remediations/i-0abc/exec-1/dump"
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="evidence")
        s3.put_object(Bucket="evidence", Key=f"{folder}/dump.202612011943", Body=b"KDUMP   " + b"\0" * 4096)
        s3.put_object(Bucket="evidence", Key=f"{folder}/vmcore-dmesg.txt", Body=DEBIAN_LOG.read_bytes())

        code = main(["analyze", f"s3://evidence/{folder}/dump.202612011943", "--out", str(tmp_path / "report"),
                     "--symbols-dir", str(tmp_path / "store")])  # fmt: skip

    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert code == 1  # not a readable dump: the analysis failed, and said so
    assert report["vmcore"]["status"] == "failed"
    assert report["kernel_log"]["panic_cause"] == "diagnostic_nmi"  # the log found beside it in the bucket
    assert f"downloading s3://evidence/{folder}/dump.202612011943" in capsys.readouterr().out
