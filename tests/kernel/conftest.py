"""Session fixtures for the real-kernel tests: host packages, guest images, and one cycle per mode.

The cycles are session-scoped so later steps (the collector on `crash_dir` uploading to a moto S3,
triage) reuse the same crash instead of booting the guest again.
"""

import logging
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from debug_symbols import debug_vmlinux
from kernel_collector import KernelCollection, instance_root_with
from moto.server import ThreadedMotoServer

from panic_button_sandbox.moto_s3 import install_s3_checksums
from panic_button_sandbox.patches import Patches
from panic_button_sandbox.presigning import lambda_like_s3_client as s3_client
from panic_button_sandbox.qemu import CycleResult, GuestImages, build_guest, run_nmi_cycle

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-kernel-test-deps.sh"
KERNEL_CACHE = REPO_ROOT / ".cache" / "kernel"
EVIDENCE_BUCKET = "panic-button-evidence-kernel"


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


@pytest.fixture(scope="session")
def fsfreeze_cycle(guest_images: GuestImages, tmp_path_factory: pytest.TempPathFactory) -> CycleResult:
    """A writer in D state: the guest froze /var/crash's ext4 and wrote to it before the NMI."""
    result = run_nmi_cycle(guest_images, tmp_path_factory.mktemp("fsfreeze"), hang="fsfreeze-writer")
    print(f"\n[kernel] {result.summary()}\n[kernel]   {result.hang_report}")
    _keep_for_bench(result, "fsfreeze-writer")
    return result


def _keep_for_bench(result: CycleResult, hang: str) -> None:
    """make bench analyses the last real dump of this hang: keep one copy (~17 MB) in the kernel cache."""
    if not (result.ok and result.dumps and result.dumps[0].dump is not None):
        return
    kept = KERNEL_CACHE / "dumps" / hang
    shutil.rmtree(kept, ignore_errors=True)
    kept.mkdir(parents=True)
    shutil.copyfile(result.dumps[0].dump, kept / result.dumps[0].dump.name)


@pytest.fixture(scope="session")
def rt_spin_cycle(guest_images: GuestImages, tmp_path_factory: pytest.TempPathFactory) -> CycleResult:
    """Every CPU held by a SCHED_FIFO busy loop with RT throttling off; the heartbeat stopped before the NMI."""
    result = run_nmi_cycle(guest_images, tmp_path_factory.mktemp("rt-spin"), hang="rt-spin")
    print(f"\n[kernel] {result.summary()}\n[kernel]   {result.hang_report}")
    return result


@pytest.fixture(scope="session")
def guest_vmlinux(guest_images: GuestImages) -> Path:
    """The debug vmlinux of the guest's kernel (the same version kernel_package.py resolved)."""
    started = time.monotonic()
    vmlinux, cost = debug_vmlinux(guest_images.kernel, KERNEL_CACHE)
    print(f"\n[kernel] symbols {guest_images.kernel.name}-dbg: {cost}, {time.monotonic() - started:.1f}s")
    return vmlinux


@pytest.fixture(scope="session")
def evidence_s3() -> Iterator[Any]:
    """A moto S3 on 127.0.0.1 with one evidence bucket, as the collector tests use it."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    patches = Patches()
    install_s3_checksums(patches)  # S3's checksum checks, as the collector tests have them
    server.start()
    host, port = server.get_host_and_port()
    s3 = s3_client(f"http://{host}:{port}")
    s3.create_bucket(Bucket=EVIDENCE_BUCKET)
    yield s3
    server.stop()
    patches.undo_all()


def collection_for(cycle: CycleResult, s3: Any, root: Path, execution_name: str) -> KernelCollection:
    assert cycle.crash_dir is not None and cycle.interrupted_at is not None, cycle.explain()
    return KernelCollection(
        s3=s3,
        bucket=EVIDENCE_BUCKET,
        root=instance_root_with(cycle.crash_dir, root),
        interrupted_at=cycle.interrupted_at,
        execution_name=execution_name,
    )


@pytest.fixture(scope="session")
def nmi_panic_collection(
    nmi_panic_cycle: CycleResult, evidence_s3: Any, tmp_path_factory: pytest.TempPathFactory
) -> KernelCollection:
    root = tmp_path_factory.mktemp("nmi-panic-instance") / "root"
    return collection_for(nmi_panic_cycle, evidence_s3, root, "real-kernel-panic")


@pytest.fixture(scope="session")
def ignored_nmi_collection(
    ignored_nmi_cycle: CycleResult, evidence_s3: Any, tmp_path_factory: pytest.TempPathFactory
) -> KernelCollection:
    root = tmp_path_factory.mktemp("nmi-ignored-instance") / "root"
    return collection_for(ignored_nmi_cycle, evidence_s3, root, "real-kernel-ignored")
