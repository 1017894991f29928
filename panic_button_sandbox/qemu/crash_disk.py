"""The guest's /var/crash: a raw ext4 image made and read without loop mounts (no root needed)."""

import logging
import shutil
import tempfile
from pathlib import Path

from panic_button_sandbox.qemu.host_tools import find_tool, run_tool

logger = logging.getLogger(__name__)

# A -c -d 31 dump of a 512 MiB guest is ~18 MB; the file is sparse, so room costs nothing.
DISK_SIZE_BYTES = 256 * 1024 * 1024


def create_crash_disk(path: Path, size_bytes: int = DISK_SIZE_BYTES) -> Path:
    path.unlink(missing_ok=True)
    with path.open("wb") as disk:
        disk.truncate(size_bytes)
    run_tool([str(find_tool("mkfs.ext4")), "-F", "-q", "-L", "var-crash", str(path)], timeout=60)
    return path


def extract_var_crash(disk: Path, destination: Path) -> Path:
    """Copy the disk's files to `destination`, laid out like the guest's /var/crash.

    mkfs's lost+found is left out: it is not part of what kdump wrote.
    """
    with tempfile.TemporaryDirectory(prefix="rdump-", dir=destination.parent) as scratch:
        # rdump of / writes the root's entries straight into `scratch`.
        run_tool(
            [str(find_tool("debugfs")), "-R", f"rdump / {scratch}", str(disk)],
            timeout=120,
        )
        shutil.rmtree(destination, ignore_errors=True)
        destination.mkdir(parents=True)
        for entry in Path(scratch).iterdir():
            if entry.name != "lost+found":
                entry.rename(destination / entry.name)
    logger.info("extracted /var/crash from %s to %s", disk.name, destination)
    return destination
