"""`panic-button simulate` as an operator runs it: a subprocess, a spec file, JSON out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sample_events import ALARM_STATE_CHANGE

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "panic_button_cli.main"]


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    # A safety net ten times a loaded run; the sandbox itself fails a stuck run sooner, naming where it stuck.
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False)


def test_simulate_prints_the_contracted_json(sandbox_cdk_out: Path, tmp_path: Path) -> None:
    spec = tmp_path / "linux.json"
    spec.write_text(json.dumps({"platform": "linux", "crash_layout": "debian", "reboot_seconds": 60}))
    event = tmp_path / "event.json"
    event.write_text(ALARM_STATE_CHANGE.read_text()
                     .replace("i-0abc1234def567890", "${INSTANCE_ID}"))
    done = run_cli("simulate", "--instance", str(spec), "--event", str(event),
                   "--input", '{"instance_id": "${INSTANCE_ID}", "dry_run": true}', "--json",
                   "--cdk-out", str(sandbox_cdk_out))
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    first, second = report["results"]
    assert set(first) == {"outcome", "reason", "execution_arn", "status", "instance_id", "interrupt_sent",
                          "transitions", "artifacts"}
    assert first["outcome"] == "DUMP_COLLECTED" and first["interrupt_sent"] is True
    assert first["transitions"] > 10
    assert all(set(a) == {"s3_uri", "bytes", "sha256"} for a in first["artifacts"])
    # The dry run raced the real run on the same instance: the lock turned it away, or it ran first.
    assert second["outcome"] in {"SKIPPED_COOLDOWN", "DRY_RUN"}
    assert report["interrupts"] == 1


def test_a_graviton_example_is_skipped_with_its_processor_named(sandbox_cdk_out: Path) -> None:
    done = run_cli("simulate", "--instance", "examples/graviton.json", "--event", "examples/alarm-event.json",
                   "--json", "--cdk-out", str(sandbox_cdk_out))
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    [result] = report["results"]
    assert result["outcome"] == "SKIPPED_NOT_ELIGIBLE" and result["interrupt_sent"] is False
    assert "m7g.large is powered by an AWS Graviton (arm64) processor" in result["reason"]
    assert report["interrupts"] == 0


def test_unknown_spec_fields_are_bad_usage(tmp_path: Path) -> None:
    spec = tmp_path / "bad.json"
    spec.write_text(json.dumps({"platfrom": "linux"}))
    done = run_cli("simulate", "--instance", str(spec), "--input", "{}")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "unknown field 'platfrom'" in done.stderr and "allowed:" in done.stderr


def test_every_example_spec_is_valid_and_the_example_event_fires_the_rule() -> None:
    from panic_button_sandbox.instances import InstanceSpec

    specs = sorted((REPO / "examples").glob("*.json"))
    assert len(specs) >= 9
    assert (REPO / "examples" / "graviton.json") in specs
    for spec in specs:
        if spec.name != "alarm-event.json":
            InstanceSpec.model_validate_json(spec.read_text())
    event = json.loads((REPO / "examples" / "alarm-event.json").read_text())
    assert event["detail"]["alarmName"].startswith("panic-button-")
    assert "${INSTANCE_ID}" in json.dumps(event["detail"]["configuration"]["metrics"])


def test_simulate_keeps_the_artifacts_and_records_in_the_output_folder(sandbox_cdk_out: Path, tmp_path: Path) -> None:
    output = tmp_path / "out"
    done = run_cli("simulate", "--instance", "examples/linux.json", "--event", "examples/alarm-event.json",
                   "--input", '{"instance_id": "${INSTANCE_ID}", "dry_run": true}',
                   "--output", str(output), "--cdk-out", str(sandbox_cdk_out))
    assert done.returncode == 0, done.stderr[-2000:]
    artifact_lines = [line.strip() for line in done.stdout.splitlines() if line.startswith("      ")]
    # The sandbox's bucket is gone when simulate exits: every artifact line names a local file.
    assert artifact_lines and all(line.startswith(str(output)) for line in artifact_lines)
    [first] = output.glob("trigger-1-i-*")
    [second] = output.glob("trigger-2-i-*")
    report = first / "dump" / "report.md"
    assert f"{report} (" in done.stdout
    assert "Kernel panic - not syncing" in report.read_text()
    assert json.loads((first / "dump" / "manifest.json").read_text())["dump"]["sha256"]
    assert (first / "evidence" / "console-output.txt").read_text().strip()
    records = json.loads((output / "records.json").read_text())
    assert records[0]["outcome"] == "DUMP_COLLECTED" and len(records) == 2
    assert "| trigger-1 | DUMP_COLLECTED |" in (output / "README.md").read_text()
    assert second.is_dir()
