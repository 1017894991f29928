"""`make demo`'s command as a newcomer runs it: every cast member ends as the story says, artifacts land."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from panic_button_cli.output_folder import MARKER

REPO = Path(__file__).resolve().parents[2]
EXPECTED = {"web-1": "DUMP_COLLECTED", "db-1": "DUMP_COLLECTED", "win-1": "DUMP_COLLECTED",
            "legacy-1": "NOT_RECOVERED", "batch-1": "SKIPPED_NOT_AUTHORIZED"}


def run_demo(output: Path, sandbox_cdk_out: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "panic_button_cli.main", "demo", "--output", str(output),
                           "--cdk-out", str(sandbox_cdk_out)], cwd=REPO, capture_output=True, text=True, timeout=900,
                          check=False, env={"PATH": "/usr/bin:/bin", "COLUMNS": "120", "HOME": str(home)})


def test_the_demo_rescues_its_cast_and_leaves_the_evidence(sandbox_cdk_out: Path, tmp_path: Path) -> None:
    output = tmp_path / "demo-output"
    # What an earlier run left (its marker lists it) goes; what a person added stays.
    (output / "web-1-i-0123456789abcdef0" / "dump").mkdir(parents=True)
    (output / "notes.txt").write_text("mine")
    (output / MARKER).write_text(json.dumps({"entries": ["web-1-i-0123456789abcdef0", "README.md"]}))
    done = run_demo(output, sandbox_cdk_out, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (output / "web-1-i-0123456789abcdef0").exists() and (output / "notes.txt").read_text() == "mine"
    assert len(list(output.glob("web-1-*"))) == 1
    assert "notes.txt" not in json.loads((output / MARKER).read_text())["entries"]
    assert "What is simulated" in done.stdout and "What is real" in done.stdout
    records = json.loads((output / "records.json").read_text())
    names = dict(folder.name.split("-i-", 1)[::-1] for folder in output.iterdir() if "-i-" in folder.name)
    by_name = {names[record["instance_id"].removeprefix("i-")]: record for record in records}
    surprises = {name: record["reason"] for name, record in by_name.items() if EXPECTED.get(name) != record["outcome"]}
    assert {name: record["outcome"] for name, record in by_name.items()} == EXPECTED, surprises
    web = next(output.glob("web-1-*"))
    assert (web / "evidence" / "console-output.txt").read_text().strip()
    assert (web / "evidence" / "screenshot.jpg").read_bytes()[:2] == b"\xff\xd8"  # a JPEG
    assert "Kernel panic - not syncing" in (web / "dump" / "report.md").read_text()
    # db-1 is billed as a hung-task storm: its kernel log says so, web-1's does not
    db = next(output.glob("db-1-*"))
    assert "10 hung tasks" in (db / "dump" / "report.md").read_text()
    assert "2 hung tasks" in (web / "dump" / "report.md").read_text()
    assert json.loads((web / "dump" / "manifest.json").read_text())["dump"]["sha256"]
    index = (output / "README.md").read_text()
    assert all(f"| {name} | {outcome} |" in index for name, outcome in EXPECTED.items())
    assert f"({web.name}/dump/report.md)" in index


def test_the_demo_refuses_a_folder_it_did_not_write(sandbox_cdk_out: Path, tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("years of work")
    done = run_demo(tmp_path, sandbox_cdk_out, tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and MARKER in done.stderr and "--output" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.tex"]  # refused before anything was written
