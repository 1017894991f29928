"""Benchmark: the vmcore analysis on a real dump with its symbols cached, the symbols' cost, the asset's size.

    .venv/bin/python bench/bench_vmcore_analysis.py --dump DUMP --symbols VMLINUX [--repeat 3] [--deb DBG.deb]

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

from panic_button_cli.symbols_store import extract_vmlinux_from_deb

REPO = Path(__file__).resolve().parents[1]
TRIAGE_HANDLER = "panic_button.handlers.handle_triage_dump.lambda_handler"


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
