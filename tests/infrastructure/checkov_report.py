"""Run checkov on CloudFormation templates and read its JSON report.

checkov lives in its own virtualenv (.venv-checkov, made by `make setup`): it pins boto3 and botocore
far below the versions this project pins, so it cannot share .venv."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"


def run_checkov(*templates: Path) -> list[dict[str, Any]]:
    """One report per template. One run for all of them: checkov's start-up is most of its time."""
    if not CHECKOV.is_file():
        raise FileNotFoundError(f"{CHECKOV} is missing: run `make setup`")
    command = [str(CHECKOV), "--framework", "cloudformation", "--output", "json",
               # Offline: no guideline or policy download from the vendor's platform.
               "--skip-download"]
    for template in templates:
        command += ["--file", str(template)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    # 0: nothing failed, 1: some check failed; anything else is checkov itself failing.
    if result.returncode not in (0, 1):
        raise RuntimeError(f"checkov exited {result.returncode}: {result.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(result.stdout)
    results: dict[str, list[Any]] = report["results"]
    if results.get("parsing_errors"):
        raise RuntimeError(f"checkov could not parse {results['parsing_errors']}")

    def of(template: Path, kind: str) -> list[dict[str, Any]]:
        return [check for check in results.get(kind, [])
                if (REPO / check["file_abs_path"]).resolve() == template.resolve()]

    return [{kind: of(template, kind) for kind in ("passed_checks", "failed_checks", "skipped_checks")}
            for template in templates]
