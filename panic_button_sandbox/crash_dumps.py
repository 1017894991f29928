"""Files a simulated instance holds: the OS identity, its kdump setup, and the dumps a panic leaves.

Layouts follow the distro tools (kexec-tools/kdump-utils on RHEL and Amazon Linux, kdump-tools on Debian
and Ubuntu, Windows' CrashControl defaults); docs/collection-protocol.md lists the paths searched.
"""

from __future__ import annotations

import os
import random
import re
from datetime import datetime
from pathlib import Path

from panic_button_sandbox.console import KERNEL_RELEASE, CrashLayout

_OS_RELEASE: dict[CrashLayout, str] = {
    "rhel": 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.4"\n',
    "amazon-linux": 'NAME="Amazon Linux"\nID="amzn"\nID_LIKE="fedora"\nVERSION_ID="2023"\n',
    "debian": 'NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n',
    "ubuntu": 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\n',
    "none": 'NAME="Amazon Linux"\nID="amzn"\nID_LIKE="fedora"\nVERSION_ID="2023"\n',
}
_RANDOM_PREFIX_BYTES = 64 * 1024  # the rest of a dump is a sparse hole: large sizes cost no disk


def seed_filesystem(root: Path, layout: CrashLayout) -> None:
    """Write what the collector inspects before it looks for dumps: OS identity and kdump readiness."""
    if layout == "windows":
        (root / "Windows" / "Minidump").mkdir(parents=True, exist_ok=True)
        return
    _write(root / "etc/os-release", _OS_RELEASE[layout])
    kdump_ready = layout != "none"
    _write(root / "sys/kernel/kexec_crash_loaded", "1\n" if kdump_ready else "0\n")
    _write(root / "proc/sys/kernel/unknown_nmi_panic", "1\n" if kdump_ready else "0\n")
    crashkernel = " crashkernel=256M" if kdump_ready else ""
    _write(root / "proc/cmdline", f"BOOT_IMAGE=/boot/vmlinuz-{KERNEL_RELEASE[layout]} ro{crashkernel}\n")
    if layout in ("rhel", "amazon-linux"):
        _write(root / "etc/kdump.conf", "path /var/crash\ncore_collector makedumpfile -l --message-level 7 -d 31\n")
    elif layout in ("debian", "ubuntu"):
        _write(root / "etc/default/kdump-tools", 'USE_KDUMP=1\nKDUMP_COREDIR="/var/crash"\n')
    if kdump_ready:
        (root / "var/crash").mkdir(parents=True, exist_ok=True)


def dump_directory(layout: CrashLayout, dumped_at: datetime, root: Path | None = None) -> str | None:
    """Where the dump lands, as an absolute path on the instance (None when no dump is written). Like
    kdump, it honours `path` in /etc/kdump.conf and KDUMP_COREDIR in /etc/default/kdump-tools."""
    base = configured_crash_dir(root, layout) if root is not None else "/var/crash"
    if layout in ("rhel", "amazon-linux"):
        return f"{base}/127.0.0.1-{dumped_at:%Y-%m-%d-%H:%M:%S}"
    if layout in ("debian", "ubuntu"):
        return f"{base}/{dumped_at:%Y%m%d%H%M}"
    if layout == "windows":
        return "/Windows"
    return None


def configured_crash_dir(root: Path, layout: CrashLayout) -> str:
    if layout in ("rhel", "amazon-linux"):
        config, pattern = root / "etc/kdump.conf", re.compile(r"^\s*path\s+(/\S+)")
    else:
        config, pattern = root / "etc/default/kdump-tools", re.compile(r"""^\s*KDUMP_COREDIR=["']?(/[^"'\s]+)""")
    if config.is_file():
        for line in config.read_text().splitlines():
            match = pattern.match(line)
            if match:
                return match.group(1).rstrip("/")
    return "/var/crash"


def write_crash_dump(root: Path, layout: CrashLayout, dumped_at: datetime, size: int, dmesg: str) -> list[Path]:
    """Write the dump files of one panic; file times are `dumped_at`. Returns the paths written."""
    directory = dump_directory(layout, dumped_at, root)
    if directory is None:
        return []
    target = root / directory.lstrip("/")
    stamp = f"{dumped_at:%Y%m%d%H%M}"
    written: list[tuple[Path, bytes, str | None]]
    if layout in ("rhel", "amazon-linux"):
        written = [(target / "vmcore", b"KDUMP   \x06\x00\x00\x00", None), (target / "vmcore-dmesg.txt", b"", dmesg)]
    elif layout in ("debian", "ubuntu"):
        written = [
            (target / f"dump.{stamp}", b"makedumpfile\x00\x00\x00\x00\x01\x00\x00\x00", None),
            (target / f"dmesg.{stamp}", b"", dmesg),
        ]
    else:
        written = [
            (target / "MEMORY.DMP", b"PAGEDU64", None),
            (target / "Minidump" / f"{dumped_at:%m%d%y}-01.dmp", b"PAGEDU64", None),
        ]
    paths = []
    for path, header, text in written:
        if text is None:
            _write_dump_image(path, header, size, seed=f"{layout}{dumped_at.isoformat()}")
        else:
            _write(path, text)
        timestamp = dumped_at.timestamp()
        os.utime(path, (timestamp, timestamp))
        paths.append(path)
    return paths


def _write_dump_image(path: Path, header: bytes, size: int, seed: str) -> None:
    """A dump-looking file: a format signature, deterministic noise, then a hole up to `size` bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    noise_length = max(0, min(size, _RANDOM_PREFIX_BYTES) - len(header))
    body = (header + random.Random(seed).randbytes(noise_length))[:size]
    with path.open("wb") as dump:
        dump.write(body)
        dump.truncate(size)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
