"""Which kernel modules the guests load, in an order insmod accepts.

Debian builds virtio and ext4 as modules, and `dpkg -x` gives no modules.dep (depmod runs at
install time), so dependencies come from each module's own .modinfo `depends=` field.
"""

import struct
from pathlib import Path

# The virtio disk and its ext4 file system. ext4 and jbd2 only soft-depend on "crypto-crc32c",
# an alias, so the implementation providing it is named here.
GUEST_MODULES = ("virtio_pci", "virtio_blk", "crc32c_generic", "ext4")

_ELF64_LITTLE = b"\x7fELF\x02\x01"


class ModuleError(RuntimeError):
    """A module the guest needs is missing from the kernel package or unreadable."""


def module_load_order(release_dir: Path, wanted: tuple[str, ...] = GUEST_MODULES) -> list[Path]:
    """The .ko files to insmod, dependencies first; modules built into the kernel are skipped.

    `release_dir` is lib/modules/<release> of the unpacked kernel package.
    """
    available = {_module_name(ko): ko for ko in (release_dir / "kernel").rglob("*.ko")}
    builtin = _builtin_modules(release_dir / "modules.builtin")
    ordered: list[Path] = []
    done: set[str] = set()
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in builtin or name in done:
            return
        if name not in available:
            raise ModuleError(f"module {name} is neither in {release_dir} nor built in")
        if name in visiting:
            raise ModuleError(f"module dependency cycle through {name}")
        visiting.add(name)
        for dependency in module_dependencies(available[name]):
            visit(dependency)
        ordered.append(available[name])
        done.add(name)

    for name in wanted:
        visit(name)
    return ordered


def module_dependencies(ko: Path) -> list[str]:
    for field in _modinfo_fields(ko.read_bytes()):
        if field.startswith("depends="):
            return [name for name in field.removeprefix("depends=").split(",") if name]
    return []


def _modinfo_fields(elf: bytes) -> list[str]:
    """The NUL-separated key=value strings of the ELF section .modinfo."""
    if not elf.startswith(_ELF64_LITTLE):
        raise ModuleError("not a 64-bit little-endian ELF module")
    (section_table,) = struct.unpack_from("<Q", elf, 0x28)
    entry_size, entry_count, names_index = struct.unpack_from("<HHH", elf, 0x3A)

    def section(index: int) -> tuple[int, int, int]:
        name, _type, _flags, _addr, offset, size = struct.unpack_from(
            "<IIQQQQ", elf, section_table + index * entry_size
        )
        return name, offset, size

    _, names_offset, _ = section(names_index)
    for index in range(entry_count):
        name, offset, size = section(index)
        name_end = elf.index(b"\0", names_offset + name)
        if elf[names_offset + name : name_end] == b".modinfo":
            raw = elf[offset : offset + size]
            return [field.decode("utf-8", "replace") for field in raw.split(b"\0") if field]
    raise ModuleError("module has no .modinfo section")


def _module_name(ko: Path) -> str:
    return ko.name.removesuffix(".ko").replace("-", "_")


def _builtin_modules(listing: Path) -> set[str]:
    if not listing.is_file():
        return set()
    return {_module_name(Path(line.strip())) for line in listing.read_text().splitlines() if line.strip()}
