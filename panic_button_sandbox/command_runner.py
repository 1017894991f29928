"""The sandbox's SSM agent: delivers commands to simulated instances and really runs their documents.

Delivery waits for the instance's agent to be online; if it is not online before the delivery timeout
(SendCommand's TimeoutSeconds, default 600 s, scaled) the invocation ends TimedOut/DeliveryTimedOut,
as on AWS, and nothing runs. aws:runShellScript steps run in `bash` with PANIC_BUTTON_ROOT set to the
instance's filesystem root; aws:runPowerShellScript steps go to the Windows collector emulator.
An execution timeout or a cancellation kills the script's process group with SIGKILL, as the agent does
(amazon-ssm-agent, agent/executers/executers_unix.go: killProcess): no trap of the script runs then.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from panic_button_sandbox.command_invocations import CommandInvocation, PluginRun
from panic_button_sandbox.instances import SimulatedInstance
from panic_button_sandbox.ssm_documents import CommandDocument, DocumentStep
from panic_button_sandbox.work_budget import work_budget

DEFAULT_DELIVERY_TIMEOUT_SECONDS = 600
_SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_AGENT_POLL_SECONDS = 0.02
_OUTPUT_FOLDER = {"aws:runShellScript": "awsrunShellScript", "aws:runPowerShellScript": "awsrunPowerShellScript"}

OutputUploader = Callable[[str, str, str], None]  # (bucket, key, text)
StatusListener = Callable[[CommandInvocation], None]  # told after each change of an invocation's status
StepResult = tuple[int, str, str, bool]  # exit code, stdout, stderr, timed out
# Runs when a script step has exited and before the agent reports it: (parameters, stdout) -> the stdout the
# agent reports. Tests put an actor there (a leaked URL's holder, an IAM writer, a lying instance).
ExitHook = Callable[[dict[str, list[str]], str], str]


class CommandRunner:
    """Runs SendCommand invocations for simulated instances in background threads."""

    def __init__(self, time_scale: float, upload: OutputUploader,
                 on_status: StatusListener = lambda _invocation: None) -> None:
        self._time_scale = time_scale
        self._upload = upload
        self._on_status = on_status
        self._lock = threading.Lock()
        self._invocations: dict[tuple[str, str], CommandInvocation] = {}
        self._running: dict[tuple[str, str], subprocess.Popen[bytes]] = {}
        self._stopping = threading.Event()
        # ssm-offline-at=upload (panic_button_sandbox/faults): the agent drops once the upload sends a part.
        self.drop_agent_at: str | None = None
        self._sleep_dir: Path | None = None
        self.part_uploaded = threading.Event()
        self.on_script_exit: ExitHook | None = None

    def start(
        self,
        invocation: CommandInvocation,
        instance: SimulatedInstance,
        document: CommandDocument,
        parameters: dict[str, list[str]],
        delivery_timeout_seconds: float,
    ) -> None:
        with self._lock:
            self._invocations[(invocation.command_id, invocation.instance_id)] = invocation
        self._on_status(invocation)  # Pending
        worker = threading.Thread(
            target=self._run,
            args=(invocation, instance, document, parameters, delivery_timeout_seconds / self._time_scale),
            name=f"ssm-{invocation.command_id[:8]}-{invocation.instance_id}",
            daemon=True,
        )
        worker.start()

    def find(self, command_id: str, instance_id: str) -> CommandInvocation | None:
        with self._lock:
            return self._invocations.get((command_id, instance_id))

    def all(self) -> list[CommandInvocation]:
        with self._lock:
            return list(self._invocations.values())

    def cancel(self, invocation: CommandInvocation) -> bool:
        """CancelCommand for one invocation: stop its delivery or kill its script. False if it had ended."""
        if not invocation.request_cancel():
            return False
        self._on_status(invocation)  # Cancelling
        with self._lock:  # request_cancel came first: a script started after this look-up sees the flag
            process = self._running.get((invocation.command_id, invocation.instance_id))
        if process is not None:
            _kill(process)
        return True

    def shutdown(self) -> None:
        """Stop waiting deliveries and kill scripts still running."""
        self._stopping.set()
        with self._lock:
            processes = list(self._running.values())
        for process in processes:
            _kill(process)
        if self._sleep_dir is not None:
            shutil.rmtree(self._sleep_dir, ignore_errors=True)

    def _scaled_sleep_dir(self) -> Path:
        """A folder with a `sleep` that sleeps its argument divided by the time scale."""
        with self._lock:
            if self._sleep_dir is None:
                folder = Path(tempfile.mkdtemp(prefix="panic-button-sleep-"))
                shim = folder / "sleep"
                shim.write_text(f'#!/bin/sh\nexec /bin/sleep "$(awk -v s="$1" \'BEGIN {{ printf "%.3f", s / '
                                f'{self._time_scale:g} }}\')"\n')
                shim.chmod(0o755)
                self._sleep_dir = folder
            return self._sleep_dir

    def _run(
        self,
        invocation: CommandInvocation,
        instance: SimulatedInstance,
        document: CommandDocument,
        parameters: dict[str, list[str]],
        delivery_timeout: float,
    ) -> None:
        if not self._await_agent(instance, time.monotonic() + delivery_timeout, invocation):
            self._undelivered(invocation)
            return
        with invocation.lock:
            started = not invocation.cancelled.is_set()
            if started:
                invocation.status = invocation.status_details = "InProgress"
        if started:
            self._on_status(invocation)
        for step, plugin in zip(document.steps, invocation.plugins, strict=True):
            if invocation.cancelled.is_set():  # steps not yet started never start
                _finish(invocation, [plugin], "Cancelled", "Cancelled")
                continue
            if not plugin.applies:
                _finish(invocation, [plugin], "Success", "Skipped", 0)
                continue
            with invocation.lock:
                if plugin.status != "Cancelling":
                    plugin.status = plugin.status_details = "InProgress"
                plugin.started_at = datetime.now(UTC)
            exit_code, stdout, stderr, timed_out = self._run_step(invocation, step, instance, parameters)
            if invocation.agent_lost:  # the invocation stays InProgress (or Cancelling): no agent reports it
                return
            hook = self.on_script_exit
            if hook is not None and not timed_out and not invocation.cancelled.is_set():
                stdout = hook(parameters, stdout)
            stderr += self._store_output(invocation, step, stdout, stderr)
            with invocation.lock:
                plugin.stdout, plugin.stderr = stdout, stderr
            if invocation.cancelled.is_set():
                _finish(invocation, [plugin], "Cancelled", "Cancelled")
            elif timed_out:
                _finish(invocation, [plugin], "TimedOut", "ExecutionTimedOut", exit_code)
            else:
                outcome = "Success" if exit_code == 0 else "Failed"
                _finish(invocation, [plugin], outcome, outcome, exit_code)
        _settle(invocation)
        self._on_status(invocation)

    def _undelivered(self, invocation: CommandInvocation) -> None:
        """The agent never took the command: cancelled meanwhile, or its delivery timed out."""
        if invocation.cancelled.is_set():
            _finish(invocation, invocation.plugins, "Cancelled", "Cancelled")
            _settle(invocation)
        else:
            _finish(invocation, invocation.plugins, "TimedOut", "DeliveryTimedOut")
        self._on_status(invocation)

    def _await_agent(self, instance: SimulatedInstance, deadline: float, invocation: CommandInvocation) -> bool:
        while not instance.health().agent_online:
            if time.monotonic() >= deadline or invocation.cancelled.is_set():
                return False
            if self._stopping.wait(_AGENT_POLL_SECONDS):
                return False
        return not invocation.cancelled.is_set()

    def _run_step(
        self,
        invocation: CommandInvocation,
        step: DocumentStep,
        instance: SimulatedInstance,
        parameters: dict[str, list[str]],
    ) -> StepResult:
        timeout = work_budget(step.timeout_seconds(parameters), self._time_scale)
        if step.action == "aws:runShellScript":
            drops_agent = self.drop_agent_at is not None and parameters.get("Action") == [self.drop_agent_at]
            return self._run_shell(invocation, step, instance, step.commands(parameters), timeout,
                                   drops_agent=drops_agent)
        if step.action == "aws:runPowerShellScript":
            flat = {name: ",".join(values) for name, values in parameters.items()}
            return _run_windows_collector(flat, instance.root, timeout, invocation.cancelled, self._time_scale)
        return 1, "", f"The sandbox agent cannot run plugin {step.action}.", False

    def _run_shell(
        self,
        invocation: CommandInvocation,
        step: DocumentStep,
        instance: SimulatedInstance,
        commands: list[str],
        timeout: float,
        *,
        drops_agent: bool = False,
    ) -> StepResult:
        # Where the agent keeps a command's script on the instance.
        folder = instance.root / "var/lib/amazon/ssm" / instance.instance_id / "document/orchestration"
        folder = folder / invocation.command_id / step.name
        folder.mkdir(parents=True, exist_ok=True)
        script = folder / "_script.sh"
        script.write_text("\n".join(commands) + "\n")
        (instance.root / "root").mkdir(exist_ok=True)
        (instance.root / "tmp").mkdir(exist_ok=True)
        environment = {  # nothing of this process leaks in: scripts see what an instance would
            # but for a `sleep` that sleeps scaled time, like every simulated wait (the collector's backoff)
            "PATH": f"{self._scaled_sleep_dir()}:{_SYSTEM_PATH}",
            "HOME": str(instance.root / "root"),
            "LANG": "C.UTF-8",
            "PANIC_BUTTON_ROOT": str(instance.root),
            "TMPDIR": str(instance.root / "tmp"),  # the instance's /tmp, not this machine's
        }
        process = subprocess.Popen(
            ["bash", str(script)],
            cwd=folder,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # so a timeout kills the script's children too
        )
        key = (invocation.command_id, invocation.instance_id)
        with self._lock:
            self._running[key] = process
        if invocation.cancelled.is_set():  # cancelled while starting: CancelCommand found no process yet
            _kill(process)
        if drops_agent and self._drop_agent_mid_command(process, instance):
            invocation.agent_lost = True
        try:
            stdout, stderr = process.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            _kill(process)
            stdout, stderr = process.communicate()
            timed_out = True
        finally:
            with self._lock:
                self._running.pop(key, None)
        text_out, text_err = stdout.decode(errors="replace"), stderr.decode(errors="replace")
        return (-1 if timed_out else process.returncode), text_out, text_err, timed_out

    def _drop_agent_mid_command(self, process: subprocess.Popen[bytes], instance: SimulatedInstance) -> bool:
        """Once the script has sent a part, the agent goes offline and takes the script with it."""
        self.part_uploaded.clear()
        while process.poll() is None:
            if self.part_uploaded.wait(_AGENT_POLL_SECONDS):
                instance.drop_agent()
                _kill(process)
                return True
        return False

    def _store_output(self, invocation: CommandInvocation, step: DocumentStep, stdout: str, stderr: str) -> str:
        """Upload full output to S3 like the agent; returns a note for stderr if the upload failed."""
        if not invocation.output_s3_bucket:
            return ""
        prefix = "/".join(
            part
            for part in (invocation.output_s3_prefix.strip("/"), invocation.command_id, invocation.instance_id)
            if part
        )
        folder = f"{prefix}/{_OUTPUT_FOLDER.get(step.action, step.action)}/{step.name}"
        notes = ""
        for stream, text in (("stdout", stdout), ("stderr", stderr)):
            if not text:
                continue
            key = f"{folder}/{stream}"
            try:
                self._upload(invocation.output_s3_bucket, key, text)
            except Exception as error:  # the agent reports upload failures and keeps going
                notes += f"\nfailed to upload output to s3://{invocation.output_s3_bucket}/{key}: {error}"
                continue
            url = f"s3://{invocation.output_s3_bucket}/{key}"
            with invocation.lock:
                plugin = next(p for p in invocation.plugins if p.name == step.name)
                setattr(plugin, f"{stream}_url", url)
        return notes


def _run_windows_collector(
    parameters: dict[str, str], root: Path, timeout: float, cancelled: threading.Event, time_scale: float
) -> StepResult:
    """Run the pluggable PowerShell emulator; without it the step fails with a clear reason."""
    try:
        module = importlib.import_module("panic_button_sandbox.windows_collector")
    except ImportError as error:
        return 1, "", f"aws:runPowerShellScript needs panic_button_sandbox.windows_collector: {error}", False
    outcome: list[Any] = []

    def call() -> None:
        try:
            outcome.append(module.run_windows_collector(parameters, root, time_scale))
        except Exception as error:  # a crashing emulator is a failed script, as PowerShell would report
            outcome.append((1, "", f"{type(error).__name__}: {error}"))

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    deadline = time.monotonic() + timeout
    while worker.is_alive() and not cancelled.is_set() and time.monotonic() < deadline:
        worker.join(min(_AGENT_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
    if not outcome:
        return -1, "", "", True
    exit_code, stdout, stderr = outcome[0]
    return int(exit_code), str(stdout), str(stderr), False


def _finish(
    invocation: CommandInvocation,
    plugins: list[PluginRun],
    status: str,
    details: str,
    response_code: int = -1,
) -> None:
    with invocation.lock:
        for plugin in plugins:
            plugin.status, plugin.status_details, plugin.response_code = status, details, response_code
            plugin.finished_at = datetime.now(UTC)
        if details == "DeliveryTimedOut":
            invocation.status, invocation.status_details = status, details


def _settle(invocation: CommandInvocation) -> None:
    """The invocation's overall status: the first step that did not succeed decides."""
    with invocation.lock:
        failed = [plugin for plugin in invocation.plugins if plugin.status != "Success"]
        decisive = failed[0] if failed else None
        invocation.status = decisive.status if decisive else "Success"
        invocation.status_details = decisive.status_details if decisive else "Success"


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
