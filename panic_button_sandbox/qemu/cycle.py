"""One diagnostic-interrupt cycle on a real kernel: boot, arm, NMI, (crash, dump, reboot), read back.

This is what EC2 SendDiagnosticInterrupt does to a kdump-armed instance, reproduced in QEMU: the
NMI comes through QMP `inject-nmi`, and /var/crash is read back from the guest's disk afterwards.
"""

import logging
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from panic_button_sandbox.qemu.console import (
    ARMED,
    CRASH_KERNEL_BOOT,
    DUMP_SAVED,
    HEARTBEAT,
    HUNG,
    NMI_SURVIVED,
    ConsoleLine,
    CycleFailure,
    SerialConsole,
)
from panic_button_sandbox.qemu.crash_disk import create_crash_disk, extract_var_crash
from panic_button_sandbox.qemu.cycle_result import CycleResult, CycleTimings, saved_dumps
from panic_button_sandbox.qemu.guest import GuestImages
from panic_button_sandbox.qemu.host_tools import SandboxToolError
from panic_button_sandbox.qemu.qmp import QmpClient, QmpError
from panic_button_sandbox.qemu.vm import GuestHang, VmFiles, qemu_command, running_vm

logger = logging.getLogger(__name__)

# A safety net about ten times a normal cycle (20 s idle); a stuck guest is caught by its silent console.
DEFAULT_TIMEOUT_SECONDS = 600.0
# After the NMI a kdump-armed kernel kexecs at once; the crash kernel boots within seconds (safety net).
CRASH_KERNEL_WAIT_SECONDS = 180.0
# Heartbeats the guest must print after an ignored NMI to count as "still running".
SURVIVAL_HEARTBEATS = 5
_QMP_CONNECT_SECONDS = 30.0
# rt-spin: this long without a heartbeat after the spinners start means the CPUs are truly taken.
HEARTBEAT_STOPPED_SECONDS = 5.0


@dataclass
class _Observed:
    """What the cycle has seen so far; becomes the CycleResult whether or not it finished."""

    started: float
    timings: CycleTimings = field(default_factory=CycleTimings)
    crashed: bool = False
    interrupted_at: datetime | None = None
    heartbeats_after_nmi: int = 0
    nmi_survived_report: str | None = None
    hang_report: str | None = None


def run_nmi_cycle(
    images: GuestImages,
    workdir: Path,
    nmi_panic: bool = True,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    hang: GuestHang = "none",
) -> CycleResult:
    """Boot the guest, inject an NMI once it is armed, and report what happened.

    With `nmi_panic` the guest sets kernel.unknown_nmi_panic=1: the NMI panics it, the crash
    kernel saves a dump to /var/crash and reboots. Without it the guest logs the NMI and runs on.
    With a `hang` the NMI waits until the guest reports the hang in place (and, for rt-spin, until
    its heartbeat has stopped), so the dump shows a really hung kernel.
    Files land in `workdir`: console.log, qemu.log, var-crash.img and the extracted var-crash/.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    observed = _Observed(started=time.monotonic())
    deadline = observed.started + timeout
    reason: str | None = None
    crash_dir: Path | None = None
    disk = create_crash_disk(workdir / "var-crash.img")
    # A unix socket path must stay under 108 bytes, which pytest's tmp paths can exceed.
    with tempfile.TemporaryDirectory(prefix="pb-qmp-") as qmp_dir:
        files = VmFiles(
            disk=disk,
            console_log=workdir / "console.log",
            qemu_log=workdir / "qemu.log",
            qmp_socket=Path(qmp_dir) / "qmp.sock",
        )
        files.console_log.unlink(missing_ok=True)
        try:
            with running_vm(qemu_command(images, files, nmi_panic=nmi_panic, hang=hang), files.qemu_log) as qemu:
                console = SerialConsole(files.console_log, qemu)
                try:
                    with QmpClient.connect(files.qmp_socket, _QMP_CONNECT_SECONDS) as qmp:
                        _drive(console, qmp, observed, nmi_panic=nmi_panic, hang=hang, deadline=deadline)
                except (CycleFailure, QmpError) as exc:
                    reason = str(exc)
                    logger.warning("cycle failed: %s\nconsole tail:\n%s", reason, console.tail())
        except OSError as exc:
            reason = f"could not run qemu: {exc}"
    try:
        crash_dir = extract_var_crash(disk, workdir / "var-crash")
    except SandboxToolError as exc:
        reason = reason or f"could not read /var/crash back from the disk: {exc}"
    observed.timings.total = time.monotonic() - observed.started
    result = CycleResult(
        nmi_panic=nmi_panic,
        hang=hang,
        hang_report=observed.hang_report,
        crashed=observed.crashed,
        crash_dir=crash_dir,
        dumps=saved_dumps(crash_dir) if crash_dir else [],
        console_log=files.console_log,
        interrupted_at=observed.interrupted_at,
        heartbeats_after_nmi=observed.heartbeats_after_nmi,
        nmi_survived_report=observed.nmi_survived_report,
        timings=observed.timings,
        reason=reason,
    )
    logger.info("%s", result.summary())
    return result


def _drive(
    console: SerialConsole, qmp: QmpClient, observed: _Observed, *, nmi_panic: bool, hang: GuestHang, deadline: float
) -> None:
    armed = console.wait_for(ARMED, deadline=deadline, start=0, what="waiting for the guest to arm kdump")
    observed.timings.boot_to_armed = armed.seen_at - observed.started
    logger.info("guest armed after %.1f s: %s", observed.timings.boot_to_armed, armed.text)
    if hang != "none":
        hung = console.wait_for(HUNG, deadline=deadline, start=armed.number, what=f"waiting for the {hang} hang")
        observed.hang_report = hung.text.strip()
        logger.info("guest hung: %s", observed.hang_report)
        if hang == "rt-spin":
            _wait_for_heartbeat_to_stop(console, start=hung.number, deadline=deadline)

    before_nmi = console.refresh()
    qmp.execute("inject-nmi")
    nmi_at = time.monotonic()
    observed.interrupted_at = datetime.now(UTC)
    after_nmi = console.refresh()  # heartbeats from here on were surely printed after the NMI
    logger.info("NMI injected")

    crash_boot = _observe_after_nmi(
        console, observed, before_nmi=before_nmi, after_nmi=after_nmi,
        expect_crash=nmi_panic, deadline=min(deadline, nmi_at + CRASH_KERNEL_WAIT_SECONDS),
    )  # fmt: skip
    if crash_boot is None:
        logger.info("guest ran on: %d heartbeats after the NMI", observed.heartbeats_after_nmi)
        return
    observed.crashed = True
    observed.timings.nmi_to_crash_kernel = crash_boot.seen_at - nmi_at
    logger.info("crash kernel booting %.1f s after the NMI", observed.timings.nmi_to_crash_kernel)
    saved = console.wait_for(DUMP_SAVED, deadline=deadline, start=crash_boot.number, what="saving the dump")
    observed.timings.nmi_to_dump_saved = saved.seen_at - nmi_at
    logger.info("dump saved %.1f s after the NMI: %s", observed.timings.nmi_to_dump_saved, saved.text)
    back = console.wait_for(ARMED, deadline=deadline, start=saved.number, what="rebooting after the dump")
    observed.timings.nmi_to_back_online = back.seen_at - nmi_at
    logger.info("guest back online %.1f s after the NMI", observed.timings.nmi_to_back_online)


def _wait_for_heartbeat_to_stop(console: SerialConsole, *, start: int, deadline: float) -> None:
    """Return once no heartbeat has appeared for HEARTBEAT_STOPPED_SECONDS: the spinners own every CPU."""
    last_beat = time.monotonic()
    seen = start
    while True:
        lines = console.refresh()
        if console.count(HEARTBEAT, start=seen) > 0:
            last_beat = time.monotonic()
        seen = lines
        now = time.monotonic()
        if now - last_beat >= HEARTBEAT_STOPPED_SECONDS:
            logger.info("heartbeat stopped for %.1f s", now - last_beat)
            return
        if now > deadline:
            raise CycleFailure("the guest kept its heartbeat although SCHED_FIFO spinners held every CPU")
        time.sleep(0.2)


def _observe_after_nmi(
    console: SerialConsole,
    observed: _Observed,
    *,
    before_nmi: int,
    after_nmi: int,
    expect_crash: bool,
    deadline: float,
) -> ConsoleLine | None:
    """The crash kernel's boot line, or None once the guest has shown it survived the NMI."""
    what = "waiting for the crash kernel" if expect_crash else "watching the guest survive the NMI"
    start = before_nmi
    while True:
        try:
            line = console.wait_for(
                CRASH_KERNEL_BOOT, HEARTBEAT, NMI_SURVIVED, deadline=deadline, start=start, what=what
            )
        except CycleFailure as exc:
            beats = console.count(HEARTBEAT, start=after_nmi)
            logged = "it logged the NMI" if observed.nmi_survived_report else "it never logged the NMI"
            raise CycleFailure(f"{exc}: {beats} heartbeats after the NMI, {logged}") from exc
        observed.heartbeats_after_nmi = console.count(HEARTBEAT, start=after_nmi, stop=line.number + 1)
        if CRASH_KERNEL_BOOT in line.text:
            return line
        if NMI_SURVIVED in line.text:
            observed.nmi_survived_report = line.text.split(":", 1)[-1].strip()
        survived = observed.nmi_survived_report is not None
        if not expect_crash and survived and observed.heartbeats_after_nmi >= SURVIVAL_HEARTBEATS:
            return None
        start = line.number + 1
