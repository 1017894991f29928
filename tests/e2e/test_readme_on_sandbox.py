"""The README's commands, read from its text, run as a newcomer runs them: `panic-button sandbox` in one
process, then the README's `panic-button` and real AWS CLI commands against it through AWS_ENDPOINT_URL."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from panic_button_cli.sandbox_command import READY_LINE

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])  # the sandbox listens on loopback only

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
README_PORT = "5005"  # the port the README's sandbox line asks for
PLACEHOLDER = "i-0abc1234def567890"  # the README's instance ID
START_TIMEOUT_SECONDS = 300  # deploying the stack on a loaded 2-core machine; usually ~15 s


@dataclass
class RunningSandbox:
    port: int
    export_line: str
    instance_ids: dict[str, str]
    process: subprocess.Popen[str]
    printed: list[str]


def bash_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", markdown, flags=re.DOTALL | re.MULTILINE)


def commands(block: str) -> list[str]:
    """The block's commands, continuation lines joined; comments and blank lines dropped."""
    joined = re.sub(r"\\\n\s*", "", block)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def sandbox(sandbox_cdk_out: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    [line] = [c for block in bash_blocks(README) for c in commands(block)
              if c.startswith(".venv/bin/panic-button sandbox")]
    assert f"--port {README_PORT}" in line
    port, home = free_port(), tmp_path_factory.mktemp("sandbox-home")
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true"}
    errors = home / "stderr.txt"
    with errors.open("w") as stderr:  # a file, not a pipe: nobody reads stderr while the sandbox runs
        process = subprocess.Popen(
            [sys.executable, "-m", "panic_button_cli.main", "sandbox", "--port", str(port),
             "--cdk-out", str(sandbox_cdk_out), "--log-file", str(home / "lambda-logs.jsonl")],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_forward, args=(process, lines), daemon=True).start()
    printed: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not printed or not printed[-1].startswith(READY_LINE):
        try:
            printed.append(lines.get(timeout=1.0).rstrip("\n"))
        except queue.Empty:
            if process.poll() is not None:  # it failed to start: say why now, not at the safety net
                pytest.fail(f"the sandbox exited {process.returncode}: {printed} {errors.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"no ready line within {START_TIMEOUT_SECONDS} s: {printed} {errors.read_text()[-2000:]}")
    ids = {match[1]: match[2] for text in printed if (match := re.match(r"^  (\S+-1)\s+(i-[0-9a-f]{17})\s", text))}
    [export] = [text.strip() for text in printed if text.strip().startswith("export AWS_ENDPOINT_URL=")]
    yield RunningSandbox(port, export, ids, process, printed)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) == 0, errors.read_text()[-2000:]
    time.sleep(0.2)  # the reader thread hands over the last lines
    rest = [lines.get_nowait() for _ in range(lines.qsize())]
    assert rest and rest[-1].strip() == "sandbox stopped", rest


@pytest.fixture
def workspace(cdk_out: Path, sandbox_cdk_out: Path, tmp_path: Path) -> Path:
    """A folder shaped like a checkout, so the README's relative paths resolve and outputs land in tmp (its
    cdk.out holds the sandbox's assembly, sandbox_cdk_out, as make synth leaves it)."""
    assert sandbox_cdk_out.parent == cdk_out
    for name, target in ((".venv", REPO / ".venv"), ("examples", REPO / "examples"), ("cdk.out", cdk_out)):
        (tmp_path / name).symlink_to(target)
    return tmp_path


def run_as_newcomer(sandbox: RunningSandbox, workspace: Path, command: str, instance_id: str
                    ) -> subprocess.CompletedProcess[str]:
    """One README command in bash, after the README's own export and unset lines (port adjusted)."""
    [setup] = [block for block in bash_blocks(README) if "export AWS_ENDPOINT_URL=" in block]
    prelude = [c for c in commands(setup) if c.startswith(("export ", "unset "))]
    script = "\n".join([*prelude, command]).replace(f"127.0.0.1:{README_PORT}", f"127.0.0.1:{sandbox.port}")
    env = {"PATH": f"{workspace / '.venv' / 'bin'}:/usr/bin:/bin", "HOME": str(workspace), "COLUMNS": "200",
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    return subprocess.run(["bash", "-c", script.replace(PLACEHOLDER, instance_id)], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def test_the_readme_export_line_is_what_the_sandbox_prints(sandbox: RunningSandbox) -> None:
    [setup] = [block for block in bash_blocks(README) if "export AWS_ENDPOINT_URL=" in block]
    [export] = [c for c in commands(setup) if c.startswith("export ")]
    assert export.replace(f":{README_PORT}", f":{sandbox.port}") == sandbox.export_line
    assert set(sandbox.instance_ids) >= {"web-1", "db-1", "win-1", "legacy-1", "batch-1", "app-1"}


def test_the_newcomers_session_in_the_readme(sandbox: RunningSandbox, workspace: Path) -> None:
    [setup] = [block for block in bash_blocks(README) if "export AWS_ENDPOINT_URL=" in block]
    session = [c for c in commands(setup) if not c.startswith(("export ", "unset "))]
    web = sandbox.instance_ids["web-1"]
    seen = []
    for command in session:
        done = run_as_newcomer(sandbox, workspace, command, web)
        seen.append(command.split()[:2])
        if " readiness" in command:  # the hung instances cannot answer over SSM: exit 1, app-1 is READY
            assert done.returncode == 1, done.stderr[-2000:]
            assert "NOT READY" in done.stdout and re.search(r"app-1 .*\bREADY\b", done.stdout)
            continue
        assert done.returncode == 0, f"{command}\n{done.stderr[-2000:]}"
        if " start " in command:
            assert "Outcome   DUMP_COLLECTED" in done.stdout and "Kernel panic" in done.stdout
        elif " history" in command:
            assert re.search(rf"{web} .* web-1 .* DUMP_COLLECTED", done.stdout)
        elif command.startswith("aws "):
            assert f"panic-button-{web}-web-1" in json.loads(done.stdout)
    assert len(session) >= 4 and [".venv/bin/panic-button", "start"] in seen


def test_every_aws_cli_command_in_the_readme_runs_against_the_sandbox(sandbox: RunningSandbox,
                                                                     workspace: Path) -> None:
    aws = [c for block in bash_blocks(README) for c in commands(block) if c.startswith("aws ")]
    assert any(c.startswith("aws stepfunctions start-execution") for c in aws)
    db = sandbox.instance_ids["db-1"]  # web-1 is the newcomer's; a second rescue of it would be cooled down
    for command in aws:
        done = run_as_newcomer(sandbox, workspace, command, db)
        assert done.returncode == 0, f"{command}\n{done.stderr[-2000:]}"
        answer = json.loads(done.stdout)
        if command.startswith("aws stepfunctions start-execution"):
            assert db in answer["executionArn"]
            finished = wait_for(answer["executionArn"], sandbox.port)
            assert finished["status"] == "SUCCEEDED"
            assert json.loads(finished["output"])["outcome"]["outcome"] == "DRY_RUN"


def test_simulate_output_from_the_readme_keeps_the_evidence(sandbox: RunningSandbox, workspace: Path) -> None:
    [command] = [c for block in bash_blocks(README) for c in commands(block)
                 if c.startswith(".venv/bin/panic-button simulate") and "--output" in c]
    done = run_as_newcomer(sandbox, workspace, command, PLACEHOLDER)
    assert done.returncode == 0, done.stderr[-2000:]
    folder = workspace / command.split("--output", 1)[1].split()[0]
    [run] = folder.glob("trigger-1-i-*")
    assert "Kernel panic - not syncing" in (run / "dump" / "report.md").read_text()
    assert json.loads((folder / "records.json").read_text())[0]["outcome"] == "DUMP_COLLECTED"


def _forward(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    for text in process.stdout or []:
        lines.put(text)


def wait_for(execution_arn: str, port: int, timeout_seconds: float = 300) -> dict[str, Any]:
    stepfunctions = boto3.client("stepfunctions", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                                 aws_access_key_id="testing", aws_secret_access_key="testing")
    deadline = time.monotonic() + timeout_seconds
    while True:
        described: dict[str, Any] = stepfunctions.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.5)
