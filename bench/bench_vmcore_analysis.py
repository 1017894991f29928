"""Benchmark: the vmcore analysis on a real dump with its symbols cached, the symbols' cost, the asset's size.

    .venv/bin/python bench/bench_vmcore_analysis.py --dump DUMP --symbols VMLINUX [--repeat 3] [--deb DBG.deb]
    cached_figures(Path(".cache/kernel"), repeat=3)   # make bench: the same figures as name=value pairs

Each analysis runs in a fresh child process (`panic-button analyze`), as the Lambda or the CLI would: the
wall time includes Python start-up and drgn loading the vmlinux's DWARF index; peak RSS is the child's.
--deb also times extracting the vmlinux from a -dbg package (the cold cost; the download is apt's).
The analysis Lambda's asset is measured in cdk.out (`make synth` first): unpacked and zipped."""

import argparse
import io
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from panic_button.logic.debuginfod import fetch_debuginfo
from panic_button.logic.elf_build_id import elf_build_id

from panic_button_cli.symbols_store import extract_vmlinux_from_deb
from panic_button_sandbox.debuginfod import LoopbackDebuginfod

REPO = Path(__file__).resolve().parents[1]
TRIAGE_HANDLER = "panic_button.handlers.handle_triage_dump.lambda_handler"
# What `make test-kernel` leaves behind: the guest's debug vmlinux (dbg/<version>/vmlinux-*, with the cold
# download and extract times in cost.json) and the fsfreeze-writer guest's dump (dumps/fsfreeze-writer/).
KERNEL_CACHE = REPO / ".cache" / "kernel"


def analyse_once(dump: Path, vmlinux: Path, out: Path) -> tuple[float, int, str]:
    started = time.monotonic()
    subprocess.run([str(REPO / ".venv" / "bin" / "panic-button"), "analyze", str(dump), "--symbols", str(vmlinux),
                    "--out", str(out)], check=True, capture_output=True, timeout=600)  # fmt: skip
    elapsed = time.monotonic() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child so far
    culprit = json.loads((out / "report.json").read_text())["culprit"]
    return elapsed, peak_kb, culprit


def asset_sizes() -> tuple[int, int] | None:
    template = next((REPO / "cdk.out").glob("*.template.json"), None)
    if template is None:
        return None
    resources = json.loads(template.read_text())["Resources"]
    paths = [r["Metadata"]["aws:asset:path"] for r in resources.values()
             if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == TRIAGE_HANDLER]
    if not paths:
        return None
    root = REPO / "cdk.out" / paths[0]
    files = [p for p in root.rglob("*") if p.is_file()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(root))
    return sum(p.stat().st_size for p in files), buffer.tell()


def cached_figures(kernel_cache: Path, repeat: int) -> list[tuple[str, float | str]]:
    """The issue-11 figures from what the kernel tests cached; a `..._skipped` entry says what is absent."""
    figures: list[tuple[str, float | str]] = []
    sizes = asset_sizes()
    if sizes:
        figures += [("analysis_asset_unpacked_mib", sizes[0] / 2**20), ("analysis_asset_zipped_mib", sizes[1] / 2**20)]
    vmlinux = max(kernel_cache.glob("dbg/*/vmlinux-*"), key=lambda p: p.stat().st_mtime, default=None)
    dump = max(kernel_cache.glob("dumps/fsfreeze-writer/dump.*"), key=lambda p: p.stat().st_mtime, default=None)
    if vmlinux is None or dump is None:
        return [*figures, ("vmcore_analysis_skipped", "no cached vmlinux and dump: run make test-kernel once")]
    if repeat == 0:
        return [*figures, ("vmcore_analysis_skipped", "smoke run")]
    cost = vmlinux.parent / "cost.json"
    if cost.is_file():
        cold = json.loads(cost.read_text())
        figures += [("symbols_cold_download_seconds", float(cold["download_seconds"])),
                    ("symbols_cold_extract_seconds", float(cold["extract_seconds"]))]
    with tempfile.TemporaryDirectory(prefix="bench-vmcore-") as scratch:
        runs = [analyse_once(dump, vmlinux, Path(scratch)) for _ in range(repeat)]
        figures += [("vmcore_analysis_wall_seconds", statistics.median(wall for wall, _, _ in runs)),
                    ("vmcore_analysis_peak_rss_mib", max(rss for _, rss, _ in runs) / 1024),
                    ("vmcore_dump_mib", dump.stat().st_size / 2**20), ("vmcore_culprit", runs[-1][2])]
        figures.append(("symbols_fetch_loopback_seconds", _fetch_seconds(vmlinux, Path(scratch) / "vmlinux")))
    return figures


def _fetch_seconds(vmlinux: Path, target: Path) -> float:
    """The analysis' debuginfod fetch of the cached vmlinux from a loopback server: disk, HTTP and the
    build-ID check, without the internet's share."""
    build_id = elf_build_id(vmlinux)
    assert build_id is not None, vmlinux
    with LoopbackDebuginfod({build_id: vmlinux}) as server:
        started = time.monotonic()
        fetched = fetch_debuginfo([server.url], build_id, target)
        elapsed = time.monotonic() - started
    assert fetched.served_by == server.url, fetched
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dump", type=Path, required=True)
    parser.add_argument("--symbols", type=Path, required=True, help="the dump's vmlinux with DWARF")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--deb", type=Path, help="a -dbg .deb: also time extracting its vmlinux")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-vmcore-") as scratch:
        runs = [analyse_once(args.dump, args.symbols, Path(scratch)) for _ in range(args.repeat)]
        walls = [wall for wall, _, _ in runs]
        print(f"dump {args.dump.stat().st_size / 2**20:.1f} MiB, vmlinux {args.symbols.stat().st_size / 2**20:.0f} MiB")
        print(f"analysis wall: median {statistics.median(walls):.2f} s, min {min(walls):.2f} s, max {max(walls):.2f} s"
              f" over {len(walls)} runs; peak RSS {max(rss for _, rss, _ in runs) / 1024:.0f} MiB")
        print(f"culprit: {runs[-1][2]}")
        if args.deb:
            started = time.monotonic()
            extract_vmlinux_from_deb(args.deb, Path(scratch) / "x")
            print(f"extract vmlinux from {args.deb.name}: {time.monotonic() - started:.1f} s")
    sizes = asset_sizes()
    if sizes:
        print(f"analysis Lambda asset: {sizes[0] / 2**20:.0f} MiB unpacked, {sizes[1] / 2**20:.0f} MiB zipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
