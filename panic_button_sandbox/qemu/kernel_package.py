"""The guest kernel: Debian's current linux-image-<abi>-amd64, fetched with apt into the cache.

It is downloaded and unpacked with `dpkg -x`, never installed: the host's /boot stays untouched.
"""

import logging
import re
from pathlib import Path
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict

from panic_button_sandbox.qemu.host_tools import SandboxToolError, run_tool

logger = logging.getLogger(__name__)

META_PACKAGE = "linux-image-amd64"
_APT_TIMEOUT = 300.0
# apt-get download as root warns that the _apt user cannot write the cache folder.
_APT_AS_ROOT = ["-o", "APT::Sandbox::User=root"]


class KernelPackage(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str  # linux-image-6.1.0-56-amd64
    version: str  # 6.1.192-2

    @property
    def release(self) -> str:
        """The `uname -r` of the kernel, which names its modules folder: 6.1.0-56-amd64."""
        return self.name.removeprefix("linux-image-")

    @property
    def deb_filename(self) -> str:
        # apt-get download spells an epoch's colon as %3a.
        return f"{self.name}_{quote(self.version, safe='+.~-')}_amd64.deb".replace("%3A", "%3a")


def resolve_kernel_package() -> KernelPackage:
    """Ask apt which linux-image-<abi>-amd64 the meta package points at today (the ABI changes)."""
    try:
        return _resolve_from_apt_lists()
    except SandboxToolError as first_error:
        # Fresh CI images often ship without apt lists; one update is enough to know the answer.
        logger.info("apt could not resolve %s (%s); running apt-get update", META_PACKAGE, first_error)
        run_tool(["apt-get", "update", "-qq"], timeout=_APT_TIMEOUT)
        return _resolve_from_apt_lists()


def _resolve_from_apt_lists() -> KernelPackage:
    depends = run_tool(["apt-cache", "depends", META_PACKAGE], timeout=60)
    names = re.findall(r"Depends:\s+(linux-image-\S+-amd64)", depends)
    if not names:
        raise SandboxToolError(f"apt-cache depends {META_PACKAGE} names no linux-image-<abi>-amd64")
    show = run_tool(["apt-cache", "show", "--no-all-versions", names[0]], timeout=60)
    version = re.search(r"^Version:\s*(\S+)", show, re.MULTILINE)
    if version is None:
        raise SandboxToolError(f"apt-cache show {names[0]} gave no version")
    return KernelPackage(name=names[0], version=version.group(1))


def download_kernel_deb(package: KernelPackage, debs_dir: Path) -> Path:
    """The package's .deb in the cache, downloaded only when it is not there yet."""
    deb = debs_dir / package.deb_filename
    if deb.is_file():
        logger.info("reusing cached %s", deb.name)
        return deb
    debs_dir.mkdir(parents=True, exist_ok=True)
    logger.info("downloading %s %s", package.name, package.version)
    run_tool(
        ["apt-get", "download", "-q", *_APT_AS_ROOT, f"{package.name}={package.version}"],
        timeout=_APT_TIMEOUT,
        cwd=debs_dir,
    )
    if not deb.is_file():
        raise SandboxToolError(f"apt-get download did not produce {deb}")
    return deb


def unpack_kernel_deb(deb: Path, target: Path) -> None:
    run_tool(["dpkg", "-x", str(deb), str(target)], timeout=_APT_TIMEOUT)
