"""Build (or reuse from the cache) the guest: a Debian kernel and two initramfs images.

First initramfs: busybox + kexec + chrt + modules + the kernel and crash initramfs to `kexec -p`.
Crash initramfs: busybox + makedumpfile + modules, saving /proc/vmcore to the virtio disk.
Images are cached under <cache_dir>/images/<kernel version>-<recipe hash>/.
"""

import fcntl
import hashlib
import logging
import shutil
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from panic_button_sandbox.qemu.host_tools import SandboxToolError, find_tool, run_tool
from panic_button_sandbox.qemu.initramfs import Initramfs
from panic_button_sandbox.qemu.kernel_modules import GUEST_MODULES, module_load_order
from panic_button_sandbox.qemu.kernel_package import (
    KernelPackage,
    download_kernel_deb,
    resolve_kernel_package,
    unpack_kernel_deb,
)

logger = logging.getLogger(__name__)

FIRST_INIT = "guest_init_first.sh"
CRASH_INIT = "guest_init_crash.sh"
SPIN_SCRIPT = "guest_spin.sh"  # /bin/pb-spin, the busy loop of the rt-spin hang
# Bump when the way images are assembled changes in a way the init scripts do not show.
_RECIPE_VERSION = "1"
_MANIFEST = "guest.json"
# Host packages whose binaries are copied into the images: a new version means new images.
_GUEST_TOOL_PACKAGES = ("busybox-static", "kexec-tools", "makedumpfile", "util-linux")


class GuestImages(BaseModel):
    """Everything qemu needs to boot the first kernel; the crash kernel travels inside it."""

    model_config = ConfigDict(frozen=True)

    kernel: KernelPackage
    cache_key: str
    vmlinuz: Path
    first_initrd: Path
    crash_initrd: Path  # also packed inside first_initrd; kept beside it for inspection


def build_guest(cache_dir: Path) -> GuestImages:
    """Resolve the current Debian kernel and return its guest images, building them if needed."""
    kernel = resolve_kernel_package()
    cache_key = f"{kernel.version}-{_recipe_hash()}"
    images_dir = cache_dir.resolve() / "images" / cache_key
    images_dir.parent.mkdir(parents=True, exist_ok=True)
    # One builder at a time (pytest-xdist workers share the cache); the others then find it built.
    with (cache_dir / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (images_dir / _MANIFEST).is_file():
            logger.info("reusing cached guest images %s", images_dir)
        else:
            _build_into(images_dir, kernel, cache_dir / "debs")
    return _images_in(images_dir, kernel, cache_key)


def _build_into(images_dir: Path, kernel: KernelPackage, debs_dir: Path) -> None:
    started = time.monotonic()
    deb = download_kernel_deb(kernel, debs_dir)
    # Build beside the final folder and rename, so an interrupted build never looks cached.
    with tempfile.TemporaryDirectory(prefix="building-", dir=images_dir.parent) as scratch:
        unpacked, staged = Path(scratch) / "unpacked", Path(scratch) / "images"
        unpack_kernel_deb(deb, unpacked)
        _build_images(kernel, unpacked, staged)
        shutil.rmtree(images_dir, ignore_errors=True)
        staged.rename(images_dir)
    logger.info("built guest images for %s in %.1f s", kernel.name, time.monotonic() - started)
    # Keep the cache (and CI's copy of it) to the current kernel and recipe. This also clears the
    # ~400 MB scratch folders of builds that were killed outright (SIGTERM skips cleanup).
    for stale in images_dir.parent.iterdir():
        if stale != images_dir:
            logger.info("removing stale guest images %s", stale.name)
            shutil.rmtree(stale, ignore_errors=True)
    for stale_deb in debs_dir.glob("*.deb"):
        if stale_deb != deb:
            stale_deb.unlink()


def _images_in(images_dir: Path, kernel: KernelPackage, cache_key: str) -> GuestImages:
    return GuestImages(
        kernel=kernel,
        cache_key=cache_key,
        vmlinuz=images_dir / "vmlinuz",
        first_initrd=images_dir / "first-initrd.img",
        crash_initrd=images_dir / "crash-initrd.img",
    )


def _build_images(kernel: KernelPackage, unpacked: Path, staged: Path) -> None:
    vmlinuz = unpacked / "boot" / f"vmlinuz-{kernel.release}"
    if not vmlinuz.is_file():
        raise SandboxToolError(f"{kernel.name} has no boot/vmlinuz-{kernel.release}")
    modules = module_load_order(unpacked / "lib" / "modules" / kernel.release, GUEST_MODULES)

    crash = _base_initramfs(CRASH_INIT, modules)
    crash.add_dynamic_executable(find_tool("makedumpfile"), "/bin/makedumpfile")
    crash_image = crash.to_gzip()

    first = _base_initramfs(FIRST_INIT, modules)
    first.add_dynamic_executable(find_tool("kexec"), "/bin/kexec")
    # The hang scenarios: busybox has fsfreeze and taskset but no chrt (util-linux has).
    first.add_dynamic_executable(find_tool("chrt"), "/bin/chrt")
    first.add_file("/bin/pb-spin", _init_script(SPIN_SCRIPT), executable=True)
    first.add_host_file(vmlinuz, "/boot/vmlinuz")
    first.add_file("/boot/crash-initrd.img", crash_image)

    staged.mkdir()
    shutil.copyfile(vmlinuz, staged / "vmlinuz")
    (staged / "crash-initrd.img").write_bytes(crash_image)
    (staged / "first-initrd.img").write_bytes(first.to_gzip())
    # Written last: its presence is what marks the folder as a finished build.
    (staged / _MANIFEST).write_text(kernel.model_dump_json(indent=2))


def _base_initramfs(init_script: str, modules: list[Path]) -> Initramfs:
    archive = Initramfs()
    for directory in ("/dev", "/proc", "/sys", "/tmp", "/var/crash"):
        archive.add_directory(directory)
    archive.add_char_device("/dev/console", 5, 1)
    busybox = find_tool("busybox")
    if "not a dynamic executable" not in _ldd_or_message(busybox):
        raise SandboxToolError(f"{busybox} is dynamically linked; install busybox-static")
    archive.add_host_file(busybox, "/bin/busybox")
    archive.add_file("/init", _init_script(init_script), executable=True)
    for ko in modules:
        archive.add_host_file(ko, f"/lib/modules/{ko.name}")
    archive.add_file("/etc/panic-button/modules", "".join(f"{ko.name}\n" for ko in modules).encode())
    return archive


def _ldd_or_message(binary: Path) -> str:
    try:
        return run_tool(["ldd", str(binary)], timeout=30)
    except SandboxToolError as static_binary:  # ldd exits 1 for static binaries
        return str(static_binary)


def _init_script(name: str) -> bytes:
    return Path(__file__).with_name(name).read_bytes()


def _recipe_hash() -> str:
    digest = hashlib.sha256(_RECIPE_VERSION.encode())
    for name in (FIRST_INIT, CRASH_INIT, SPIN_SCRIPT):
        digest.update(_init_script(name))
    digest.update(",".join(GUEST_MODULES).encode())
    digest.update(_host_tool_versions().encode())
    return digest.hexdigest()[:12]


def _host_tool_versions() -> str:
    return run_tool(["dpkg-query", "-W", *_GUEST_TOOL_PACKAGES], timeout=30)
