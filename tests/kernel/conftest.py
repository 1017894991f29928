"""Session fixtures for the real-kernel tests: host packages, guest images, and one cycle per mode.

The cycles are session-scoped so later steps (running the collector on `crash_dir`, triage)
reuse the same crash instead of booting the guest again.
"""

import subprocess
import time
from pathlib import Path

import pytest

from panic_button_sandbox.qemu import CycleResult, GuestImages, build_guest, run_nmi_cycle

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-kernel-test-deps.sh"
KERNEL_CACHE = REPO_ROOT / ".cache" / "kernel"


@pytest.fixture(scope="session")
def guest_images() -> GuestImages:
    started = time.monotonic()
    installed = subprocess.run([str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=900, check=False)
    if installed.returncode != 0:
        pytest.fail(f"{INSTALL_SCRIPT.name} failed (the kernel tests need root):\n{installed.stderr}")
    deps_done = time.monotonic()
    images = build_guest(KERNEL_CACHE)
    print(
        f"\n[kernel] host packages {deps_done - started:.1f}s, guest images "
        f"{time.monotonic() - deps_done:.1f}s ({images.kernel.name} {images.kernel.version}, "
        f"key {images.cache_key})"
    )
    return images


@pytest.fixture(scope="session")
def nmi_panic_cycle(guest_images: GuestImages, tmp_path_factory: pytest.TempPathFactory) -> CycleResult:
    """kdump armed and kernel.unknown_nmi_panic=1: the NMI must end in a saved dump."""
    result = run_nmi_cycle(guest_images, tmp_path_factory.mktemp("nmi-panic"), nmi_panic=True)
    print(f"\n[kernel] {result.summary()}")
    return result


@pytest.fixture(scope="session")
def ignored_nmi_cycle(guest_images: GuestImages, tmp_path_factory: pytest.TempPathFactory) -> CycleResult:
    """kdump armed but unknown_nmi_panic left at 0: the "kdump not configured" instance."""
    result = run_nmi_cycle(guest_images, tmp_path_factory.mktemp("nmi-ignored"), nmi_panic=False)
    print(f"\n[kernel] {result.summary()}")
    return result
