"""The guest kernel's debug vmlinux (Debian's linux-image-<abi>-amd64-dbg), cached by kernel version.

Cold: an ~860 MB apt-get download and ~100 s of xz to extract the 633 MB vmlinux; warm: a stat.
The .deb is deleted once the vmlinux is out: the vmlinux is the cache, and cost.json beside it keeps
what the cold fill cost, for make bench.
"""

import json
import time
from pathlib import Path

from panic_button_cli.symbols_store import extract_vmlinux_from_deb
from panic_button_sandbox.qemu import KernelPackage
from panic_button_sandbox.qemu.host_tools import run_tool

_APT_TIMEOUT = 900.0


def debug_vmlinux(kernel: KernelPackage, cache_dir: Path) -> tuple[Path, str]:
    """The vmlinux with DWARF for `kernel`, and what getting it cost (for the test output)."""
    folder = cache_dir / "dbg" / kernel.version
    vmlinux = folder / f"vmlinux-{kernel.release}"
    if vmlinux.is_file():
        return vmlinux, "warm (cached)"
    started = time.monotonic()
    debs = cache_dir / "dbg-debs"
    debs.mkdir(parents=True, exist_ok=True)
    package = f"{kernel.name}-dbg"
    run_tool(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", f"{package}={kernel.version}"],
             timeout=_APT_TIMEOUT, cwd=debs)  # fmt: skip
    [deb] = sorted(debs.glob(f"{package}_*.deb"))
    downloaded = time.monotonic()
    scratch = folder.with_name(f"{kernel.version}.extracting")
    extracted = extract_vmlinux_from_deb(deb, scratch)
    folder.mkdir(parents=True, exist_ok=True)
    extracted.replace(vmlinux)
    run_tool(["rm", "-rf", str(scratch)], timeout=60)
    deb.unlink()
    download, extract = downloaded - started, time.monotonic() - downloaded
    # make bench reports the cold cost from here: the warm path never pays it again
    (folder / "cost.json").write_text(json.dumps({"download_seconds": round(download, 1),
                                                  "extract_seconds": round(extract, 1)}))
    return vmlinux, f"cold: download {download:.1f}s, extract {extract:.1f}s"
