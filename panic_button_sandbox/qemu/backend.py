"""The `qemu` backend of simulated instances: a real Debian kernel takes the diagnostic interrupt.

`InstanceSpec(backend="qemu")` launches the guest of run_nmi_cycle and waits until kdump is armed.
From then on the sandbox's EC2 and SSM answer from the real guest:

- SendDiagnosticInterrupt injects an NMI through QMP, as EC2's hypervisor does;
- GetConsoleOutput returns the guest's serial console;
- status checks and the SSM agent follow the console: until the crash kernel boots, whatever the spec
  says (by default the "hung" instance: impaired, agent offline); crash kernel booting -> impaired; dump
  saved and rebooting -> initializing; kdump armed again -> ok, and the agent pings;
- once the guest is back, QEMU is stopped and its /var/crash disk is extracted into the instance root,
  where the collector document runs (PANIC_BUTTON_ROOT). Only then does the agent come online.

Durations are real (boot ~7 s, NMI to back online ~20 s under TCG), whatever the sandbox's time_scale.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from panic_button_sandbox.instances import InstanceSpec, InstanceStatus, SimulatedInstance
from panic_button_sandbox.qemu.console import ARMED, CRASH_KERNEL_BOOT, DUMP_SAVED, HUNG, CycleFailure, SerialConsole
from panic_button_sandbox.qemu.crash_disk import create_crash_disk, extract_var_crash
from panic_button_sandbox.qemu.guest import GuestImages, build_guest
from panic_button_sandbox.qemu.host_tools import SandboxToolError
from panic_button_sandbox.qemu.qmp import QmpClient, QmpError
from panic_button_sandbox.qemu.vm import VmFiles, qemu_command, running_vm

logger = logging.getLogger(__name__)

KERNEL_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "kernel"
# Safety nets about ten times the normal, far above a loaded host: a stuck guest is caught sooner by its
# silent console (console.CONSOLE_SILENCE_SECONDS). Boot to armed takes 6 s idle, 24 s with both cores busy.
BOOT_TIMEOUT_SECONDS = 300.0
# NMI -> crash kernel -> dump saved -> first kernel armed again takes ~20 s on an idle 2-core TCG host.
PHASE_TIMEOUT_SECONDS = 600.0
# The workflow gives recovery 20 min at most, scaled by time_scale: above 20 that is under a minute,
# too short for the real reboot.
MAX_TIME_SCALE = 20.0
_QMP_CONNECT_SECONDS = 30.0
_NEVER = 10 * 365 * 24 * 3600.0  # the crash kernel waits on an interrupt that may never come

_images_lock = threading.Lock()
_images: dict[str, GuestImages] = {}  # "current": the images every qemu instance of this process boots


def use_guest_images(images: GuestImages) -> None:
    """Boot qemu instances from these images (tests pass their session's) instead of building them."""
    with _images_lock:
        _images["current"] = images


def guest_images() -> GuestImages:
    """The guest images, built into .cache/kernel on first use (needs scripts/install-kernel-test-deps.sh)."""
    with _images_lock:
        if "current" not in _images:
            _images["current"] = build_guest(KERNEL_CACHE)
        return _images["current"]


class QemuInstance(SimulatedInstance):
    """A simulated instance whose operating system is a real kernel under QEMU."""

    def __init__(
        self,
        instance_id: str,
        spec: InstanceSpec,
        root: Path,
        time_scale: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if time_scale > MAX_TIME_SCALE:
            raise ValueError(
                f"a qemu instance reboots in real time (~20 s): run the sandbox at a time scale of at most "
                f"{MAX_TIME_SCALE:g} (e.g. --time-scale 10), not {time_scale:g}"
            )
        if spec.crash_layout is None:
            spec = spec.model_copy(update={"crash_layout": "debian"})  # what the guest's kdump writes
        super().__init__(instance_id, spec, root, time_scale, clock)
        self._phases: dict[str, float] = {}  # crash_kernel, dump_saved, back_online -> wall-clock time
        self._vm = ExitStack()
        self._vm_lock = threading.Lock()
        self._qmp: QmpClient | None = None
        self._files: VmFiles | None = None
        if spec.state == "running":
            try:
                self._boot(root.parent / f"{instance_id}-qemu")
            except BaseException:
                self.close()
                raise

    @property
    def phases(self) -> dict[str, datetime]:
        """When the guest was seen entering each phase after the interrupt (UTC)."""
        with self._lock:
            return {name: datetime.fromtimestamp(moment, UTC) for name, moment in self._phases.items()}

    def receive_interrupt(self) -> None:
        with self._lock:
            now = self._clock()
            self._health(now)  # the agent's last ping is the moment before the crash
            self._interrupts.append(now)
        with self._vm_lock:
            if self._qmp is None:
                logger.warning("%s: the guest is not running; the interrupt goes nowhere", self.instance_id)
                return
            try:
                self._qmp.execute("inject-nmi")
            except QmpError as error:  # QEMU died: EC2 accepts the call, and nothing happens
                logger.warning("%s: inject-nmi failed: %s", self.instance_id, error)
                return
        logger.info("%s: NMI injected through QMP", self.instance_id)

    def console_output(self, latest: bool) -> str:
        """The guest's serial console (both kernels, and the guest's own PANIC-BUTTON- markers)."""
        if self._files is None or not self._files.console_log.is_file():
            return ""
        return self._files.console_log.read_text(errors="replace")

    def close(self) -> None:
        with self._vm_lock:
            self._qmp = None
            self._vm.close()  # QMP socket closed, QEMU stopped (SIGTERM, then SIGKILL)

    def _status_at(self, now: float) -> tuple[InstanceStatus, datetime | None, bool]:
        phases = self._phases
        if "back_online" in phases:
            return "ok", None, self.spec.ssm_online_after_reboot
        if "dump_saved" in phases:
            return "initializing", None, False
        if "crash_kernel" in phases:
            return "impaired", datetime.fromtimestamp(phases["crash_kernel"], UTC), False
        return super()._status_at(now)  # no crash (yet): the hang the spec describes

    def _boot(self, vm_dir: Path) -> None:
        vm_dir.mkdir(parents=True, exist_ok=True)
        # A unix socket path must stay under 108 bytes: keep the QMP socket in a short temp folder.
        qmp_dir = self._vm.enter_context(tempfile.TemporaryDirectory(prefix="pb-qmp-"))
        files = VmFiles(
            disk=create_crash_disk(vm_dir / "var-crash.img"),
            console_log=vm_dir / "console.log",
            qemu_log=vm_dir / "qemu.log",
            qmp_socket=Path(qmp_dir) / "qmp.sock",
        )
        files.console_log.unlink(missing_ok=True)
        self._files = files
        hang = self.spec.hang
        if hang == "hung-task-storm":  # InstanceSpec refuses it for qemu: the guest hangs for real
            raise ValueError("hang 'hung-task-storm' is a simulated kernel log")
        command = qemu_command(guest_images(), files, nmi_panic=self.spec.on_interrupt == "panic", hang=hang)
        qemu = self._vm.enter_context(running_vm(command, files.qemu_log))
        self._qmp = self._vm.enter_context(QmpClient.connect(files.qmp_socket, _QMP_CONNECT_SECONDS))
        console = SerialConsole(files.console_log, qemu)
        started = time.monotonic()
        armed = console.wait_for(
            ARMED, deadline=started + BOOT_TIMEOUT_SECONDS, start=0, what="booting the guest and arming kdump"
        )
        logger.info("%s: guest armed after %.1f s: %s", self.instance_id, time.monotonic() - started, armed.text)
        self._record_kdump_readiness(console, armed.text)
        if self.spec.hang != "none":  # launched means hung: the workflow must find the hang in place
            hung = console.wait_for(HUNG, deadline=started + BOOT_TIMEOUT_SECONDS, start=armed.number,
                                    what=f"waiting for the {self.spec.hang} hang")  # fmt: skip
            logger.info("%s: %s", self.instance_id, hung.text)
        threading.Thread(
            target=self._follow, args=(console, armed.number + 1), name=f"qemu-{self.instance_id}", daemon=True
        ).start()

    def _follow(self, console: SerialConsole, start: int) -> None:
        """Turn the console's markers into phases; once the guest is back, hand its disk to the collector."""
        try:
            crash = console.wait_for(
                CRASH_KERNEL_BOOT, deadline=time.monotonic() + _NEVER, start=start, what="waiting for an NMI",
                silence=None,
            )
            self._enter("crash_kernel")
            deadline = time.monotonic() + PHASE_TIMEOUT_SECONDS
            saved = console.wait_for(DUMP_SAVED, deadline=deadline, start=crash.number, what="saving the dump")
            self._enter("dump_saved")
            console.wait_for(ARMED, deadline=deadline, start=saved.number, what="rebooting after the dump")
        except CycleFailure as failure:
            if self._qmp is not None:  # not a failure when the sandbox is closing
                logger.warning("%s: the guest did not come back: %s\n%s", self.instance_id, failure, console.tail())
            return
        self._hand_over_disk()
        self._enter("back_online")

    def _hand_over_disk(self) -> None:
        """Stop QEMU (it flushes the disk) and extract /var/crash into the instance root."""
        self.close()
        assert self._files is not None
        try:
            extract_var_crash(self._files.disk, self.root / "var/crash")
        except SandboxToolError as error:  # the guest is back all the same; the collector will find nothing
            logger.error("%s: could not read /var/crash back from the guest's disk: %s", self.instance_id, error)

    def _enter(self, phase: str) -> None:
        with self._lock:
            self._phases[phase] = self._clock()
        logger.info("%s: guest phase %s", self.instance_id, phase)

    def _record_kdump_readiness(self, console: SerialConsole, armed_line: str) -> None:
        """What the collector reads about kdump, as the guest reported it (not the simulated defaults)."""
        facts = dict(part.split("=", 1) for part in armed_line.split() if "=" in part)
        for relative, key in (
            ("sys/kernel/kexec_crash_loaded", "kexec_crash_loaded"),
            ("proc/sys/kernel/unknown_nmi_panic", "unknown_nmi_panic"),
        ):
            if key in facts:
                (self.root / relative).write_text(f"{facts[key]}\n")
        command_line = next((line.text for line in console.lines if "Command line: " in line.text), None)
        if command_line is not None:
            (self.root / "proc/cmdline").write_text(command_line.split("Command line: ", 1)[1].strip() + "\n")
