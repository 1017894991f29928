"""Tiny ELF64 files with a GNU build-ID note, and Debian debug packages holding one as their vmlinux."""

import struct
import subprocess
from pathlib import Path

_SHT_NOTE = 7
_SHT_PROGBITS = 1


def _note(name: bytes, kind: int, desc: bytes) -> bytes:
    padded_name = name + b"\0" * (-len(name) % 4)
    return struct.pack("<III", len(name), len(desc), kind) + padded_name + desc + b"\0" * (-len(desc) % 4)


def elf_with_build_id(path: Path, build_id: bytes | None, other_notes: bytes = b"") -> Path:
    """ELF header, a PROGBITS section, then one note section (an unrelated note first, if given)."""
    notes = other_notes + (_note(b"GNU\0", 3, build_id) if build_id is not None else b"")
    text = b"\x90" * 64
    text_offset, notes_offset = 64, 64 + len(text)
    sections_offset = notes_offset + len(notes)
    header = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
    header += struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, 0, sections_offset, 0, 64, 0, 0, 64, 3, 0)
    null = b"\0" * 64
    progbits = struct.pack("<IIQQQQIIQQ", 0, _SHT_PROGBITS, 0, 0, text_offset, len(text), 0, 0, 16, 0)
    note = struct.pack("<IIQQQQIIQQ", 0, _SHT_NOTE, 0, 0, notes_offset, len(notes), 0, 0, 4, 0)
    path.write_bytes(header + text + notes + null + progbits + note)
    return path


def debug_deb(folder: Path, release: str, build_id: bytes) -> Path:
    """A -dbg .deb laid out like Debian's: the vmlinux under usr/lib/debug/boot/, plus a module to skip."""
    root = folder / "pkg"
    boot = root / "usr" / "lib" / "debug" / "boot"
    modules = root / "usr" / "lib" / "debug" / "lib" / "modules" / release / "kernel" / "fs"
    boot.mkdir(parents=True)
    modules.mkdir(parents=True)
    elf_with_build_id(boot / f"vmlinux-{release}", build_id)
    (modules / "ext4.ko").write_bytes(b"not extracted")
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN" / "control").write_text(
        f"Package: linux-image-{release}-dbg\nVersion: 1\nArchitecture: amd64\n"
        "Maintainer: test <t@example.invalid>\nDescription: test\n"
    )
    deb = folder / f"linux-image-{release}-dbg_1_amd64.deb"
    subprocess.run(["dpkg-deb", "-Zgzip", "--build", str(root), str(deb)], check=True, capture_output=True, timeout=60)
    return deb
