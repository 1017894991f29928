"""What the demo and `simulate --output` leave behind: artifacts copied out of the sandbox, records, an index,
and the demo's phase times from the history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from panic_button_cli.simulation import TriggerResult
from panic_button_sandbox.sandbox import Sandbox


def save_results(sandbox: Sandbox, output: Path, rows: list[tuple[str, TriggerResult]], title: str
                 ) -> dict[str, Path]:
    """Copy each run's artifacts to `<name>-<instance-id>/`, write records.json and the README.md index.
    Returns where each artifact's S3 URI was saved (the sandbox's bucket is gone once it closes)."""
    saved: dict[str, Path] = {}
    for name, result in rows:
        saved |= copy_artifacts(sandbox, result, output / f"{name}-{result.instance_id}")
    (output / "records.json").write_text(json.dumps([r.record for _, r in rows if r.record], indent=2, default=str))
    write_index(output, rows, title)
    return saved


def copy_artifacts(sandbox: Sandbox, result: TriggerResult, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    s3 = sandbox.client("s3")
    saved: dict[str, Path] = {}
    for artifact in result.artifacts:
        bucket, key = artifact.s3_uri.removeprefix("s3://").split("/", 1)
        relative = key.split("/", 3)[-1]  # drop remediations/<instance>/<execution>/
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(target))
        saved[artifact.s3_uri] = target
    return saved


def phase_times(sandbox: Sandbox, arn: str | None, time_scale: float) -> dict[str, float]:
    """Seconds from the start to the interrupt (wall clock: no waits happen before it), and seconds from
    the interrupt to the recovery times `time_scale`: simulated seconds for a simulated reboot, wall-clock
    seconds with 1.0 (a real kernel's reboot is not scaled; the demo labels the column accordingly)."""
    if arn is None:
        return {}
    events: list[dict[str, Any]] = sandbox.client("stepfunctions").get_execution_history(
        executionArn=arn, maxResults=1000)["events"]
    start = events[0]["timestamp"]
    marks: dict[str, Any] = {}
    for event in events:
        details = event.get("stateExitedEventDetails") or {}
        if details.get("name") == "SendInterrupt" and "interrupt" not in marks:
            marks["interrupt"] = event["timestamp"]
        entered = event.get("stateEnteredEventDetails") or {}
        if entered.get("name") == "StartLocate" and "recovery" not in marks:
            marks["recovery"] = event["timestamp"]
    times: dict[str, float] = {}
    if "interrupt" in marks:
        times["interrupt"] = (marks["interrupt"] - start).total_seconds()
        if "recovery" in marks:
            times["recovery"] = (marks["recovery"] - marks["interrupt"]).total_seconds() * time_scale
    return times


def write_index(output: Path, rows: list[tuple[str, TriggerResult]], title: str = "Panic Button demo output") -> Path:
    """README.md of the output folder: what each run's folder holds and what to open first."""
    lines = [f"# {title}", "",
             "One folder per run (`<name>-<instance-id>`). Open `dump/report.md` first where there is one.", "",
             "| instance | outcome | open first | reason |", "|---|---|---|---|"]
    for name, result in rows:
        folder = f"{name}-{result.instance_id}"
        files = sorted(p.relative_to(output / folder).as_posix() for p in (output / folder).rglob("*") if p.is_file())
        first = next((f for f in ("dump/report.md", "dump/manifest.json", "evidence/console-output.txt") if f in files),
                     None)
        link = f"[{first}]({folder}/{first})" if first else "-"
        lines.append(f"| {name} | {result.outcome} | {link} | {result.reason.replace('|', '/')} |")
    lines += ["", "What the folders hold:", "",
              "- `evidence/`: the serial console and a screenshot captured *before* the interrupt (in the sandbox "
              "the screenshot is a placeholder image);",
              "- `dump/`: the crash dump as shipped, its kernel log, `manifest.json` (sizes, SHA-256s, layout) "
              "and the triage `report.md` / `report.json` (Windows dumps are not triaged: open MEMORY.DMP in WinDbg);",
              "- `collector/`: what the SSM collector reported (`*.result`) and its full transcript (`*.log`);",
              "- `records.json`: the remediation records, one per execution; `lambda-logs.jsonl`: the Lambdas' logs."]
    index = output / "README.md"
    index.write_text("\n".join(lines) + "\n")
    return index
