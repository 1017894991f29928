"""Starting and always stopping the QEMU guest (TCG: these hosts have no usable KVM)."""

import logging
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from panic_button_sandbox.qemu.guest import GuestImages
from panic_button_sandbox.qemu.host_tools import find_tool

logger = logging.getLogger(__name__)

# What the guest does once armed (guest_init_first.sh): idle with a heartbeat, or a real hang.
GuestHang = Literal["none", "fsfreeze-writer", "rt-spin"]
GUEST_MEMORY_MIB = 512
# 160M fits the crash kernel + initramfs at 512 MiB; 96M at 256 MiB makes kexec_load fail.
CRASHKERNEL = "160M"
_QUIT_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class VmFiles:
    disk: Path
    console_log: Path
    qemu_log: Path
    qmp_socket: Path


def qemu_command(images: GuestImages, files: VmFiles, *, nmi_panic: bool, hang: GuestHang = "none") -> list[str]:
    cmdline = f"console=ttyS0 crashkernel={CRASHKERNEL} rdinit=/init panic=5"
    if not nmi_panic:
        cmdline += " pb.nmi_panic=0"  # read by guest_init_first.sh
    if hang != "none":
        cmdline += f" pb.hang={hang}"  # read by guest_init_first.sh
    return [
        str(find_tool("qemu-system-x86_64")),
        "-accel", "tcg",
        "-machine", "q35",
        "-m", str(GUEST_MEMORY_MIB),
        "-smp", "2",
        "-kernel", str(images.vmlinuz),
        "-initrd", str(images.first_initrd),
        "-append", cmdline,
        "-drive", f"file={files.disk},if=virtio,format=raw,cache=unsafe",
        "-display", "none",
        "-vga", "none",
        "-serial", f"file:{files.console_log}",
        "-monitor", "none",
        "-qmp", f"unix:{files.qmp_socket},server=on,wait=off",
        "-nic", "none",
        "-no-user-config",
    ]  # fmt: skip


@contextmanager
def running_vm(command: list[str], qemu_log: Path) -> Iterator["subprocess.Popen[bytes]"]:
    """Start QEMU; on leaving, stop it (SIGTERM, then SIGKILL after a grace period) whatever happened."""
    logger.info("starting qemu: %s", " ".join(command))
    # `finally` does not run when the test process itself is killed (CI cancel, SIGTERM): the
    # parent-death signal then takes QEMU down with it instead of leaving it burning CPU.
    orphan_guard = [str(find_tool("setpriv")), "--pdeathsig", "KILL", "--"]
    with qemu_log.open("wb") as log:
        process = subprocess.Popen(
            orphan_guard + command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        _stop(process)


def _stop(process: "subprocess.Popen[bytes]") -> None:
    if process.poll() is None:
        process.terminate()  # QEMU exits cleanly on SIGTERM, flushing the disk image
        try:
            process.wait(timeout=_QUIT_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            logger.info("killing qemu (pid %d)", process.pid)
            process.kill()
            process.wait(timeout=30)
    logger.info("qemu exited with code %s", process.returncode)
