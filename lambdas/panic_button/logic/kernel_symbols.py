"""Where a kernel's debug symbols live: keyed by build ID, and which distro package ships them.

The vmlinux with DWARF is found by the build ID the dump's vmcoreinfo records, never by release name
alone: two builds of one release differ, and drgn refuses a vmlinux that does not match.
"""

import re
from pathlib import Path

SYMBOLS_PREFIX = "symbols"
VMLINUX = "vmlinux"
_BUILD_ID = re.compile(r"^[0-9a-f]{16,128}$")


def symbols_key(build_id: str) -> str:
    """`symbols/<build-id>/vmlinux`, in the evidence bucket and under a local symbols folder."""
    if not _BUILD_ID.match(build_id):
        raise ValueError(f"not a build ID: {build_id!r}")
    return f"{SYMBOLS_PREFIX}/{build_id}/{VMLINUX}"


def local_vmlinux(symbols_root: Path, build_id: str) -> Path:
    return symbols_root / build_id / VMLINUX


def debug_package(release: str) -> str | None:
    """The distro package that holds `release`'s vmlinux with DWARF, from the release's naming."""
    if re.search(r"\.(el\d+|amzn\d+|fc\d+)", release):
        return f"kernel-debuginfo-{release}"  # Amazon Linux, RHEL, Fedora: the debuginfo repository
    if re.search(r"-(generic|aws|azure|gcp|lowlatency|kvm|oracle)(-\S+)?$", release):
        return f"linux-image-unsigned-{release}-dbgsym"  # Ubuntu: ddebs.ubuntu.com or debuginfod
    if re.search(r"-(amd64|arm64|cloud-amd64|cloud-arm64|rt-amd64)$", release):
        return f"linux-image-{release}-dbg"  # Debian: main archive
    return None


def debug_vmlinux(release: str) -> str:
    """Where the debug package installs the vmlinux that crash and drgn read."""
    if re.search(r"\.(el\d+|amzn\d+|fc\d+)", release):
        return f"/usr/lib/debug/lib/modules/{release}/vmlinux"
    return f"/usr/lib/debug/boot/vmlinux-{release}"


def open_dump_commands(dump: str, release: str | None) -> list[str]:
    """The command lines a kernel engineer types to open this dump with crash or drgn."""
    local = dump.rsplit("/", 1)[-1]
    vmlinux = debug_vmlinux(release) if release else "<debug vmlinux of this kernel>"
    fetch = [f"aws s3 cp {dump} ./{local}"] if dump.startswith("s3://") else []
    return [*fetch, f"crash {vmlinux} ./{local}", f"drgn -c ./{local} -s {vmlinux}"]


def how_to_add(release: str | None, build_id: str | None, package: str | None) -> list[str]:
    """Exact commands that fill the symbols store for this kernel."""
    steps: list[str] = []
    if package and package.endswith("-dbg"):
        steps.append(f"apt-get download {package}   # on any Debian machine with the same suite in sources.list")
        steps.append(f"panic-button symbols add {package}_*.deb --bucket <evidence bucket>")
    elif package and package.endswith("-dbgsym"):
        steps.append(f"apt-get download {package}   # after adding ddebs.ubuntu.com to sources.list")
        steps.append(f"panic-button symbols add {package}_*.ddeb --bucket <evidence bucket>")
    elif package:
        steps.append(f"dnf download --enablerepo='*debuginfo*' {package}   # on a machine of that distribution")
        steps.append(f"panic-button symbols add {package}.rpm --bucket <evidence bucket>")
    else:
        steps.append(f"find the debug vmlinux of kernel {release or '(unknown release)'} from its vendor")
        steps.append("panic-button symbols add ./vmlinux --bucket <evidence bucket>")
    if build_id:
        steps.append(f"the vmlinux must have build ID {build_id} (it is stored as {symbols_key(build_id)})")
    return steps
