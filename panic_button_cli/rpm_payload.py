"""Take one file out of an RPM (a `kernel-debuginfo` package) in one streaming pass, without rpm tools.

An RPM is a 96-byte lead, a signature header (padded to 8 bytes), the main header, then the payload: a
cpio archive ("newc", magic 070701) compressed as the header's PAYLOADCOMPRESSOR tag says (gzip, bzip2,
xz, lzma or zstd). The payload is read once, front to back, and only the wanted member is written out.

Why not a library: rpmfile 2.2.1 (PyPI) reads a zstd payload whole into memory (`io.BytesIO(reader.read())`),
gigabytes for a kernel-debuginfo, and seeks back through xz to extract; rpm2cpio is not on Debian or
macOS workstations by default.
"""

from __future__ import annotations

import bz2
import fnmatch
import gzip
import lzma
import struct
from pathlib import Path
from typing import IO, Any

import zstandard  # rpm payloads may be zstd (Fedora's are since Fedora 31); the others are in the stdlib

_LEAD_BYTES = 96
_LEAD_MAGIC = b"\xed\xab\xee\xdb"
_HEADER_MAGIC = b"\x8e\xad\xe8\x01"
_TAG_PAYLOADFORMAT = 1124
_TAG_PAYLOADCOMPRESSOR = 1125
_MAX_HEADER_ENTRIES, _MAX_HEADER_STORE = 0xFFFF, 256 * 1024 * 1024  # rpm's own header limits
_STRING_TYPES = (6, 8, 9)  # STRING, STRING_ARRAY, I18NSTRING: NUL-terminated text in the store
_CPIO_HEADER = 110
_CPIO_MAGICS = (b"070701", b"070702")
_TRAILER = "TRAILER!!!"
_CHUNK = 4 * 1024 * 1024


class RpmError(ValueError):
    """Not an RPM, or one whose payload this reader does not take; the message says which."""


def extract_member(rpm: Path, pattern: str, target: Path) -> Path | None:
    """Write the first payload member whose name matches `pattern` ("usr/lib/debug/*/vmlinux", no
    leading "./") under `target`, keeping its path; None when no member matches."""
    with rpm.open("rb") as raw:
        compressor = _payload_compressor(raw, rpm)
        try:
            with _decompressed(raw, compressor) as payload:
                return _copy_member(_Reader(payload, rpm), pattern, target)
        except (EOFError, OSError, lzma.LZMAError, zstandard.ZstdError) as exc:
            raise RpmError(f"{rpm}: the {compressor} payload is damaged or truncated ({exc})") from exc


def _payload_compressor(raw: IO[bytes], rpm: Path) -> str:
    lead = raw.read(_LEAD_BYTES)
    if len(lead) < _LEAD_BYTES or not lead.startswith(_LEAD_MAGIC):
        raise RpmError(f"{rpm} is not an RPM package (no RPM lead)")
    _read_header(raw, rpm)  # the signature header: digests, nothing this reader needs
    raw.read(-raw.tell() % 8)  # the signature header is padded to 8 bytes
    tags = _read_header(raw, rpm)
    payload_format = tags.get(_TAG_PAYLOADFORMAT, "cpio")
    if payload_format != "cpio":
        raise RpmError(f"{rpm}: payload format {payload_format!r}, not cpio")
    return tags.get(_TAG_PAYLOADCOMPRESSOR, "gzip")  # rpm's default when the tag is absent


def _read_header(raw: IO[bytes], rpm: Path) -> dict[int, str]:
    """The string tags of one header structure; the stream is left at its end."""
    intro = raw.read(16)
    if len(intro) < 16 or not intro.startswith(_HEADER_MAGIC):
        raise RpmError(f"{rpm}: damaged RPM header")
    entries, store_bytes = struct.unpack(">II", intro[8:])
    if entries > _MAX_HEADER_ENTRIES or store_bytes > _MAX_HEADER_STORE:
        raise RpmError(f"{rpm}: damaged RPM header ({entries} entries, {store_bytes} bytes)")
    index = raw.read(16 * entries)
    store = raw.read(store_bytes)
    if len(index) < 16 * entries or len(store) < store_bytes:
        raise RpmError(f"{rpm}: truncated RPM header")
    strings: dict[int, str] = {}
    for tag, kind, offset, _count in struct.iter_unpack(">IIII", index):
        end = store.find(b"\0", offset)
        if kind in _STRING_TYPES and 0 <= offset < end:
            strings[tag] = store[offset:end].decode(errors="replace")
    return strings


def _decompressed(raw: IO[bytes], compressor: str) -> Any:
    if compressor == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if compressor == "bzip2":
        return bz2.BZ2File(raw, mode="rb")
    if compressor in ("xz", "lzma"):
        return lzma.LZMAFile(raw, mode="rb")
    if compressor == "zstd":
        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    raise RpmError(f"payload compressed with {compressor!r}, which this reader does not know")


class _Reader:
    """Exact reads from the decompressed payload, counting the offset cpio's 4-byte padding needs."""

    def __init__(self, stream: IO[bytes], rpm: Path) -> None:
        self.stream, self.rpm, self.offset = stream, rpm, 0

    def read(self, size: int) -> bytes:
        parts: list[bytes] = []
        left = size
        while left:
            part = self.stream.read(min(left, _CHUNK))
            if not part:
                raise RpmError(f"{self.rpm}: the payload ends inside a cpio entry (truncated download?)")
            parts.append(part)
            left -= len(part)
        self.offset += size
        return b"".join(parts)

    def skip(self, size: int) -> None:
        while size:
            size -= len(self.read(min(size, _CHUNK)))

    def align(self) -> None:
        self.skip(-self.offset % 4)

    def copy_to(self, out: IO[bytes], size: int) -> None:
        while size:
            part = self.read(min(size, _CHUNK))
            out.write(part)
            size -= len(part)


def _copy_member(payload: _Reader, pattern: str, target: Path) -> Path | None:
    while True:
        header = payload.read(_CPIO_HEADER)
        if header[:6] not in _CPIO_MAGICS:
            raise RpmError(f"{payload.rpm}: the payload is not a newc cpio archive (magic {header[:6]!r}; "
                           "rpm's large-file payloads are not read here: use rpm2cpio)")
        try:
            fields = [int(header[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
        except ValueError:
            raise RpmError(f"{payload.rpm}: damaged cpio entry header") from None
        mode, file_bytes, name_bytes = fields[1], fields[6], fields[11]
        name = payload.read(name_bytes).rstrip(b"\0").decode(errors="replace").removeprefix("./")
        payload.align()
        if name == _TRAILER:
            return None
        if fnmatch.fnmatch(name, pattern) and mode & 0o170000 == 0o100000:  # a regular file
            if Path(name).is_absolute() or ".." in Path(name).parts:
                raise RpmError(f"{payload.rpm}: refusing member path {name!r}")
            written = target / name
            written.parent.mkdir(parents=True, exist_ok=True)
            with written.open("wb") as out:
                payload.copy_to(out, file_bytes)
            return written
        payload.skip(file_bytes)
        payload.align()

