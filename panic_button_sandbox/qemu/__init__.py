"""A real Linux kernel under QEMU, to prove the diagnostic-interrupt chain end to end.

    images = build_guest(Path(".cache/kernel"))            # Debian kernel + two initramfs images
    result = run_nmi_cycle(images, workdir)                 # boot, arm kdump, NMI, dump, reboot
    result.crash_dir / stamp / f"dump.{stamp}"              # the guest's /var/crash, on the host

Needs the Debian packages from scripts/install-kernel-test-deps.sh; runs without KVM (TCG).
"""

from panic_button_sandbox.qemu.cycle import run_nmi_cycle
from panic_button_sandbox.qemu.cycle_result import CycleResult, CycleTimings, SavedDump
from panic_button_sandbox.qemu.guest import GuestImages, build_guest
from panic_button_sandbox.qemu.host_tools import SandboxToolError
from panic_button_sandbox.qemu.kernel_package import KernelPackage

__all__ = [
    "CycleResult",
    "CycleTimings",
    "GuestImages",
    "KernelPackage",
    "SandboxToolError",
    "SavedDump",
    "build_guest",
    "run_nmi_cycle",
]
