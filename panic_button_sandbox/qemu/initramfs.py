"""A gzip-compressed newc cpio archive, the format the kernel unpacks as its initramfs.

Written in Python rather than with cpio(1) so device nodes need no root and the bytes are the
same on every build (fixed mtimes and inode numbers).
"""

import gzip
import re
import stat
from pathlib import Path, PurePosixPath

from panic_button_sandbox.qemu.host_tools import run_tool

_NEWC_MAGIC = b"070701"
_TRAILER = "TRAILER!!!"
_LDD_LIBRARY = re.compile(r"(/\S+) \(0x[0-9a-f]+\)")


class Initramfs:
    """Collects directories, files, links and device nodes, then serialises them."""

    def __init__(self) -> None:
        self._records: list[bytes] = []
        self._paths: set[str] = set()

    def add_directory(self, path: str) -> None:
        name = _archive_name(path)
        if name in self._paths or name == ".":
            return
        self._add_parents(name)
        self._append(name, stat.S_IFDIR | 0o755, b"")

    def add_file(self, path: str, data: bytes, *, executable: bool = False) -> None:
        name = _archive_name(path)
        self._add_parents(name)
        self._append(name, stat.S_IFREG | (0o755 if executable else 0o644), data)

    def add_host_file(self, host_path: Path, path: str | None = None) -> None:
        """Copy a host file (symlinks resolved) to the same or another path inside the archive."""
        executable = bool(host_path.stat().st_mode & stat.S_IXUSR)
        self.add_file(path or str(host_path), host_path.read_bytes(), executable=executable)

    def add_dynamic_executable(self, host_path: Path, path: str | None = None) -> None:
        """Add a binary and every shared library ldd lists for it, at their host paths."""
        self.add_host_file(host_path, path)
        for library in _LDD_LIBRARY.findall(run_tool(["ldd", str(host_path)], timeout=30)):
            if _archive_name(library) not in self._paths:
                self.add_host_file(Path(library))

    def add_symlink(self, path: str, target: str) -> None:
        name = _archive_name(path)
        self._add_parents(name)
        self._append(name, stat.S_IFLNK | 0o777, target.encode())

    def add_char_device(self, path: str, major: int, minor: int) -> None:
        name = _archive_name(path)
        self._add_parents(name)
        self._append(name, stat.S_IFCHR | 0o600, b"", rdev=(major, minor))

    def to_gzip(self) -> bytes:
        trailer = _newc_record(_TRAILER, 0, b"", inode=0, rdev=(0, 0))
        return gzip.compress(b"".join([*self._records, trailer]), compresslevel=6, mtime=0)

    def _add_parents(self, name: str) -> None:
        for parent in reversed(PurePosixPath(name).parents):
            if str(parent) != ".":
                self.add_directory(str(parent))

    def _append(self, name: str, mode: int, data: bytes, rdev: tuple[int, int] = (0, 0)) -> None:
        if name in self._paths:
            raise ValueError(f"{name} is already in the initramfs")
        self._paths.add(name)
        self._records.append(_newc_record(name, mode, data, inode=len(self._paths), rdev=rdev))


def _archive_name(path: str) -> str:
    return str(PurePosixPath("/", path).relative_to("/"))


def _newc_record(name: str, mode: int, data: bytes, *, inode: int, rdev: tuple[int, int]) -> bytes:
    encoded_name = name.encode() + b"\0"
    nlink = 2 if stat.S_ISDIR(mode) else 1
    fields = (inode, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded_name), 0)
    header = _NEWC_MAGIC + b"".join(f"{value:08x}".encode() for value in fields)
    return _pad4(header + encoded_name) + _pad4(data)


def _pad4(chunk: bytes) -> bytes:
    return chunk + b"\0" * (-len(chunk) % 4)
