"""The GNU build ID of an ELF file (a vmlinux), read from its notes without loading the whole file.

A 600 MB vmlinux keeps its .note.gnu.build-id near the start; only the headers and notes are read.
"""

import struct
from pathlib import Path

_ELF_MAGIC = b"\x7fELF"
_ELFCLASS64 = 2
_ELFDATA2LSB = 1
_SHT_NOTE = 7
_NT_GNU_BUILD_ID = 3


class NotAnElfFile(ValueError):
    pass


def elf_build_id(path: Path) -> str | None:
    """Hex build ID of a little-endian 64-bit ELF file, or None when it has no build-ID note."""
    with path.open("rb") as elf:
        ident = elf.read(64)
        if len(ident) < 64 or ident[:4] != _ELF_MAGIC:
            raise NotAnElfFile(f"{path} is not an ELF file")
        if ident[4] != _ELFCLASS64 or ident[5] != _ELFDATA2LSB:
            raise NotAnElfFile(f"{path} is not a little-endian 64-bit ELF file")
        section_offset, = struct.unpack_from("<Q", ident, 0x28)
        entry_size, count = struct.unpack_from("<HH", ident, 0x3A)
        elf.seek(section_offset)
        table = elf.read(entry_size * count)
        for index in range(count):
            kind, = struct.unpack_from("<I", table, index * entry_size + 4)
            if kind != _SHT_NOTE:
                continue
            offset, size = struct.unpack_from("<QQ", table, index * entry_size + 0x18)
            elf.seek(offset)
            found = _build_id_in_notes(elf.read(size))
            if found:
                return found
    return None


def _build_id_in_notes(notes: bytes) -> str | None:
    position = 0
    while position + 12 <= len(notes):
        name_size, desc_size, kind = struct.unpack_from("<III", notes, position)
        name_start = position + 12
        desc_start = name_start + _align4(name_size)
        name = notes[name_start : name_start + name_size].rstrip(b"\0")
        if kind == _NT_GNU_BUILD_ID and name == b"GNU":
            return notes[desc_start : desc_start + desc_size].hex()
        position = desc_start + _align4(desc_size)
    return None


def _align4(size: int) -> int:
    return (size + 3) & ~3
