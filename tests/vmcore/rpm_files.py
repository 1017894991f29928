"""Small RPM packages laid out like a distro's kernel-debuginfo, written from the RPM file format itself
(lead, signature header padded to 8 bytes, main header, compressed newc cpio payload): no rpm tools."""

import bz2
import gzip
import lzma
import struct
from pathlib import Path

import zstandard

RPM_TAG_NAME, RPM_TAG_VERSION, RPM_TAG_RELEASE = 1000, 1001, 1002
RPM_TAG_PAYLOADFORMAT, RPM_TAG_PAYLOADCOMPRESSOR = 1124, 1125
RPMSIGTAG_SHA256 = 273
_STRING = 6

COMPRESSORS = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


def _header(tags: dict[int, str]) -> bytes:
    index, store = b"", b""
    for tag, value in sorted(tags.items()):
        index += struct.pack(">IIII", tag, _STRING, len(store), 1)
        store += value.encode() + b"\0"
    return b"\x8e\xad\xe8\x01\0\0\0\0" + struct.pack(">II", len(tags), len(store)) + index + store


def _cpio_entry(name: str, mode: int, data: bytes, inode: int) -> bytes:
    encoded = name.encode() + b"\0"
    fields = [inode, mode, 0, 0, 2 if mode & 0o040000 else 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0]
    entry = b"070701" + b"".join(b"%08X" % value for value in fields) + encoded
    entry += b"\0" * (-len(entry) % 4) + data
    return entry + b"\0" * (-len(entry) % 4)


def cpio_newc(members: list[tuple[str, int, bytes]]) -> bytes:
    archive = b"".join(_cpio_entry(name, mode, data, inode) for inode, (name, mode, data) in enumerate(members, 1))
    return archive + _cpio_entry("TRAILER!!!", 0, b"", 0)


def rpm_package(path: Path, name: str, members: list[tuple[str, int, bytes]], compressor: str | None) -> Path:
    """An RPM whose payload holds `members` ((name, mode, data), names as rpm writes them: "./usr/..."),
    compressed with `compressor`; None leaves out the PAYLOADCOMPRESSOR tag (rpm then means gzip)."""
    lead = b"\xed\xab\xee\xdb\x03\x00" + struct.pack(">hh", 0, 1) + name.encode()[:65].ljust(66, b"\0")
    lead += struct.pack(">hh", 5, 0) + b"\0" * 16
    signature = _header({RPMSIGTAG_SHA256: "0" * 63})  # an odd store length: the 8-byte padding matters
    tags = {RPM_TAG_NAME: name, RPM_TAG_VERSION: "6.1.141", RPM_TAG_RELEASE: "165.249.amzn2023",
            RPM_TAG_PAYLOADFORMAT: "cpio"}
    if compressor is not None:
        tags[RPM_TAG_PAYLOADCOMPRESSOR] = compressor
    payload = COMPRESSORS[compressor or "gzip"](cpio_newc(members))
    path.write_bytes(lead + signature + b"\0" * (-len(signature) % 8) + _header(tags) + payload)
    return path


def kernel_debuginfo_rpm(folder: Path, release: str, vmlinux: bytes, compressor: str | None) -> Path:
    """kernel-debuginfo-<release>.rpm as RHEL, Fedora and Amazon Linux lay it out: module debug files
    first, then the vmlinux under usr/lib/debug/lib/modules/<release>/."""
    modules = f"./usr/lib/debug/lib/modules/{release}"
    members = [
        ("./usr/lib/debug", 0o040755, b""),
        (f"{modules}/kernel/fs/ext4/ext4.ko.debug", 0o100644, b"module debug info " * 300),
        (f"{modules}/vmlinux", 0o100644, vmlinux),
        ("./usr/lib/debug/.build-id/6a/2b4ac7.debug", 0o120777, f"../../lib/modules/{release}/vmlinux".encode()),
    ]
    return rpm_package(folder / f"kernel-debuginfo-{release}.rpm", "kernel-debuginfo", members, compressor)
