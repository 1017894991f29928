"""`panic-button sandbox` refuses a taken port in one line instead of waiting forever (moto's server thread
dies silently on one). The running sandbox itself is tested through the README in test_readme_on_sandbox.py."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

REPO = Path(__file__).resolve().parents[2]


def test_a_taken_port_is_one_line_and_exit_2(sandbox_cdk_out: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "panic_button_cli.main", "sandbox", "--port", str(port),
                               "--cdk-out", str(sandbox_cdk_out), "--log-file", str(tmp_path / "logs.jsonl")],
                              cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.count("\n") == 1 and f"port {port}" in done.stderr and "not free" in done.stderr
    assert "ready:" not in done.stdout
