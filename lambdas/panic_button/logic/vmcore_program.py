"""Opening a vmcore with drgn and giving it the kernel's debug info, found by build ID.

drgn is imported here, lazily: it is a dependency of the analysis step only (the `analysis` extra),
so the other Lambdas and the CLI's other commands never load it.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from panic_button.logic.elf_build_id import NotAnElfFile, elf_build_id
from panic_button.logic.kernel_symbols import local_vmlinux


class VmcoreUnreadable(RuntimeError):
    """drgn could not open the file as a kernel core dump."""


@dataclass(frozen=True)
class VmcoreInfo:
    """What the dump says about its kernel without any debug info (the vmcoreinfo note)."""

    release: str | None
    build_id: str | None
    crash_time: int | None  # seconds since the epoch, as the panicking kernel wrote it


def open_vmcore(dump: Path) -> Any:
    """A drgn Program on the dump, without debug info yet."""
    import drgn

    prog = drgn.Program()
    try:
        prog.set_core_dump(str(dump))
    except (OSError, ValueError, drgn.FaultError) as exc:
        raise VmcoreUnreadable(f"drgn cannot open {dump} as a core dump: {exc}") from exc
    if not prog.flags & drgn.ProgramFlags.IS_LINUX_KERNEL:
        raise VmcoreUnreadable(f"{dump} is a core dump, but not of a Linux kernel")
    return prog


def vmcoreinfo(prog: Any) -> VmcoreInfo:
    text = bytes(prog["VMCOREINFO"].value_()).split(b"\0", 1)[0].decode(errors="replace")
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    crash_time = fields.get("CRASHTIME", "")
    return VmcoreInfo(
        release=fields.get("OSRELEASE"),
        build_id=_build_id(fields),
        crash_time=int(crash_time) if crash_time.isdigit() else None,
    )


def kallsyms_symbol_count(prog: Any) -> int:
    """Symbol names from the dump's own kallsyms (vmcoreinfo, Linux 6.0+): what is left without DWARF."""
    from drgn.helpers.linux.kallsyms import load_vmlinux_kallsyms

    prog.register_symbol_finder("vmlinux_kallsyms", load_vmlinux_kallsyms(prog), enable_index=0)
    return len(prog.symbols())


def _build_id(fields: dict[str, str]) -> str | None:
    value = fields.get("BUILD-ID", "").strip().lower()
    return value if re.fullmatch(r"[0-9a-f]{16,128}", value) else None


def find_vmlinux(build_id: str | None, candidates: list[Path], symbols_root: Path | None) -> Path | None:
    """The first vmlinux whose build ID is the dump's: given paths (files or folders), then the store."""
    if build_id is None:
        return None
    searched: list[Path] = []
    for candidate in candidates:
        if candidate.is_dir():
            searched += [local_vmlinux(candidate, build_id), *sorted(candidate.glob("vmlinux*"))]
        else:
            searched.append(candidate)
    if symbols_root is not None:
        searched.append(local_vmlinux(symbols_root, build_id))
    for path in searched:
        if path.is_file() and _build_id_of(path) == build_id:
            return path
    return None


def _build_id_of(path: Path) -> str | None:
    try:
        return elf_build_id(path)
    except (NotAnElfFile, OSError):
        return None


def load_kernel_debug_info(prog: Any, vmlinux: Path) -> None:
    """DWARF for the kernel image; modules fall back to the names their kallsyms give."""
    import drgn

    # Only the modules lacking DWARF raises this: stacks through them still get symbol names.
    with contextlib.suppress(drgn.MissingDebugInfoError):
        prog.load_debug_info([str(vmlinux)])
