"""Kernel debug symbols keyed by build ID: extract the vmlinux from a debug package, file it, upload it.

    build_id, vmlinux = add_symbols("linux-image-6.1.0-57-amd64-dbg_6.1.192-3_amd64.deb", root)
    # root/<build-id>/vmlinux, and with a bucket: s3://<bucket>/symbols/<build-id>/vmlinux

Only the kernel image is taken out of the package: usr/lib/debug/boot/vmlinux-* from a Debian/Ubuntu
-dbg/-dbgsym .deb (dpkg-deb --fsys-tarfile | tar -x), usr/lib/debug/lib/modules/*/vmlinux from an RPM
kernel-debuginfo (rpm_payload.py, no rpm tools needed). The modules' debug files would triple the size
and the analysis reads the kernel image only.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from panic_button.logic.elf_build_id import NotAnElfFile, elf_build_id
from panic_button.logic.kernel_symbols import local_vmlinux, symbols_key

from panic_button_cli.rpm_payload import RpmError, extract_member

DEFAULT_SYMBOLS_ROOT = Path(".cache") / "symbols"
_DEB_SUFFIXES = (".deb", ".ddeb")
_VMLINUX_IN_DEB = "./usr/lib/debug/boot/vmlinux-*"
_VMLINUX_IN_RPM = "usr/lib/debug/lib/modules/*/vmlinux"
_EXTRACT_TIMEOUT = 1800.0  # a 633 MB vmlinux out of xz takes ~100 s on one loaded core
_PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+:~-]+)?$")


class SymbolsError(RuntimeError):
    pass


def extract_vmlinux_from_deb(deb: Path, target: Path) -> Path:
    """Unpack just the debug vmlinux of a -dbg/-dbgsym package into `target`; return its path."""
    target.mkdir(parents=True, exist_ok=True)
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE) as fsys:
        untar = subprocess.run(
            ["tar", "-x", "-C", str(target), "--wildcards", _VMLINUX_IN_DEB],
            stdin=fsys.stdout, capture_output=True, text=True, timeout=_EXTRACT_TIMEOUT, check=False,
        )  # fmt: skip
        if fsys.stdout is not None:
            fsys.stdout.close()
        fsys.wait(timeout=_EXTRACT_TIMEOUT)
    if fsys.returncode != 0 or untar.returncode != 0:
        raise SymbolsError(f"cannot extract {_VMLINUX_IN_DEB} from {deb}: {untar.stderr.strip()[-500:]}")
    found = sorted((target / "usr" / "lib" / "debug" / "boot").glob("vmlinux-*"))
    if not found:
        raise SymbolsError(f"{deb} holds no usr/lib/debug/boot/vmlinux-*: is it a kernel -dbg/-dbgsym package?")
    return found[0]


def extract_vmlinux_from_rpm(rpm: Path, target: Path) -> Path:
    """Unpack just the debug vmlinux of a kernel-debuginfo RPM into `target`; return its path."""
    try:
        found = extract_member(rpm, _VMLINUX_IN_RPM, target)
    except RpmError as exc:
        raise SymbolsError(str(exc)) from exc
    if found is None:
        raise SymbolsError(f"{rpm} holds no {_VMLINUX_IN_RPM}: is it a kernel-debuginfo package "
                           "(not kernel-debuginfo-common)?")
    return found


def download_package(name: str, into: Path) -> Path:
    """`apt-get download NAME` into a folder; the .deb it wrote."""
    if name.startswith("kernel-debuginfo"):
        raise SymbolsError(f"{name} is an RPM: `dnf download --enablerepo='*debuginfo*' {name}` on a machine "
                           "of that distribution, then `panic-button symbols add <the .rpm>`")
    if not _PACKAGE_NAME.match(name):
        raise SymbolsError(f"{name!r} is neither a file nor a Debian package name")
    into.mkdir(parents=True, exist_ok=True)
    fetched = subprocess.run(["apt-get", "download", "-q", name], cwd=into, capture_output=True, text=True,
                             timeout=_EXTRACT_TIMEOUT, check=False)  # fmt: skip
    if fetched.returncode != 0:
        raise SymbolsError(f"apt-get download {name} failed: {fetched.stderr.strip()[-500:]}")
    debs = sorted(into.glob(f"{name.split('=', maxsplit=1)[0]}_*.deb"))
    if not debs:
        raise SymbolsError(f"apt-get download {name} wrote no .deb")
    return debs[0]


def add_symbols(source: str, symbols_root: Path) -> tuple[str, Path]:
    """File a vmlinux (given, or out of a .deb / .rpm / a package apt can download) under its build ID."""
    symbols_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="symbols-", dir=symbols_root) as scratch:
        path = Path(source)
        if not path.exists():
            path = download_package(source, Path(scratch) / "deb")
        if path.suffix in _DEB_SUFFIXES:
            vmlinux = extract_vmlinux_from_deb(path, Path(scratch) / "x")
        elif path.suffix == ".rpm":
            vmlinux = extract_vmlinux_from_rpm(path, Path(scratch) / "x")
        else:
            vmlinux = path
        try:
            build_id = elf_build_id(vmlinux)
        except NotAnElfFile as exc:
            raise SymbolsError(str(exc)) from exc
        if build_id is None:
            raise SymbolsError(f"{vmlinux} has no GNU build ID note: the analysis could not match it to a dump")
        filed = local_vmlinux(symbols_root, build_id)
        filed.parent.mkdir(parents=True, exist_ok=True)
        if vmlinux.is_relative_to(scratch):
            vmlinux.replace(filed)  # same filesystem: a rename, not a 600 MB copy
        elif vmlinux.resolve() != filed.resolve():
            shutil.copyfile(vmlinux, filed)
    return build_id, filed


def upload_symbols(s3: Any, bucket: str, build_id: str, vmlinux: Path) -> str:
    key = symbols_key(build_id)
    s3.upload_file(str(vmlinux), bucket, key)
    return f"s3://{bucket}/{key}"


def download_symbols(s3: Any, bucket: str, build_id: str, symbols_root: Path) -> Path | None:
    """The evidence bucket's symbols/<build-id>/vmlinux into the local store; None if it has none."""
    from botocore.exceptions import ClientError

    filed = local_vmlinux(symbols_root, build_id)
    if filed.is_file():
        return filed
    filed.parent.mkdir(parents=True, exist_ok=True)
    partial = filed.with_suffix(".partial")
    try:
        s3.download_file(bucket, symbols_key(build_id), str(partial))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
            return None
        raise
    partial.replace(filed)
    return filed
