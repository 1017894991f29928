"""The collector's scratch folder is gone however the collector ends: a failure, a TERM, and the agent's
own way of ending a timed-out or cancelled command, SIGKILL to the whole process group, which no trap
sees. The instance here has no /var/tmp, so the folder goes to TMPDIR, as in the sandbox."""

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from collector_harness import FaultyProxy, InstanceRoot, run_linux_collector, start_linux_collector
from panic_button.logic.collection_plan import collection_keys, write_locate_manifest

from panic_button_sandbox.presigning import lambda_like_s3_client as s3_client

INTERRUPTED_AT = datetime.now(UTC) - timedelta(seconds=60)
KEYS = collection_keys("i-0123456789abcdef0", "exec-scratch")


@pytest.fixture
def scratch(tmp_path: Path, instance: InstanceRoot) -> Path:
    (instance.path / "var/tmp").rmdir()
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    return folder


def scratch_left(folder: Path, wait_seconds: float = 0.0) -> list[str]:
    deadline = time.monotonic() + wait_seconds
    while (left := sorted(p.name for p in folder.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def stalled_collector(shell: str, instance: InstanceRoot, proxy: FaultyProxy, bucket: str, scratch: Path) -> Any:
    """A locate run stuck fetching its manifest, its scratch folder made."""
    handle = write_locate_manifest(s3_client(proxy.url), bucket=bucket, keys=KEYS, interrupted_at=INTERRUPTED_AT)
    proxy.stall.add("locate.manifest")
    process = start_linux_collector(shell, instance, "locate", handle.manifest_url, tmpdir=scratch)
    assert proxy.stalled.wait(60)
    assert [name.startswith("panic-button.") for name in scratch_left(scratch)] == [True]
    return process


def test_a_failed_run_removes_its_scratch_folder(
    shell: str, instance: InstanceRoot, s3: Any, bucket: str, scratch: Path
) -> None:
    handle = write_locate_manifest(s3, bucket=bucket, keys=KEYS, interrupted_at=INTERRUPTED_AT)
    instance.write("var/lib/panic-button/manifest.key", "a2V5")  # as a locate run leaves it
    result = run_linux_collector(shell, instance, "upload", handle.manifest_url, tmpdir=scratch)
    assert (result.returncode, result.stderr) == (1, "collect_dump: the manifest is for 'locate', not 'upload'\n")
    assert scratch_left(scratch) == []  # at once: the script's own cleanup, not the watcher


def test_a_terminated_run_removes_its_scratch_folder(
    shell: str, instance: InstanceRoot, proxy: FaultyProxy, bucket: str, scratch: Path
) -> None:
    process = stalled_collector(shell, instance, proxy, bucket, scratch)
    os.killpg(process.pid, signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert (process.returncode, stderr) == (1, "collect_dump: interrupted by a signal\n")
    assert scratch_left(scratch) == []


def test_a_run_killed_like_the_agent_cancels_removes_its_scratch_folder(
    shell: str, instance: InstanceRoot, proxy: FaultyProxy, bucket: str, scratch: Path
) -> None:
    process = stalled_collector(shell, instance, proxy, bucket, scratch)
    os.killpg(process.pid, signal.SIGKILL)  # amazon-ssm-agent killProcess, on ExecutionTimeout and CancelCommand
    process.communicate(timeout=10)  # the watcher holds none of the agent's pipes: the command ends now
    assert process.returncode == -signal.SIGKILL
    assert scratch_left(scratch, wait_seconds=10) == []


def test_a_kill_as_soon_as_the_scratch_folder_exists_still_removes_it(
    shell: str, instance: InstanceRoot, proxy: FaultyProxy, bucket: str, scratch: Path
) -> None:
    # The watcher is a child of the script until its setsid runs; a kill of the group before that killed it
    # too (the CI run under load left the folder behind). A slow setsid widens that window to half a second:
    # the folder must not exist before the watcher is in a session of its own.
    real = next(Path(p) / "setsid" for p in os.environ["PATH"].split(":") if (Path(p) / "setsid").is_file())
    shims = scratch.parent / "slow-setsid"
    shims.mkdir()
    (shims / "setsid").write_text(f'#!/bin/sh\nsleep 0.5\nexec {real} "$@"\n')
    (shims / "setsid").chmod(0o755)
    handle = write_locate_manifest(s3_client(proxy.url), bucket=bucket, keys=KEYS, interrupted_at=INTERRUPTED_AT)
    proxy.stall.add("locate.manifest")
    process = start_linux_collector(shell, instance, "locate", handle.manifest_url, tmpdir=scratch,
                                    extra_path=shims)
    deadline = time.monotonic() + 60
    while not scratch_left(scratch) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert scratch_left(scratch), "the collector made no scratch folder"
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=10)
    assert scratch_left(scratch, wait_seconds=10) == []
