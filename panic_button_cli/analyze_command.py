"""`panic-button analyze DUMP`: the vmcore analysis on this machine, writing report.json/report.md.

DUMP is a local file or s3://bucket/key of a collected dump. The kernel log beside it (kdump-tools'
dmesg.<stamp>, or vmcore-dmesg.txt) is triaged into the same report. Symbols come from --symbols,
the local store (.cache/symbols/<build-id>/vmlinux) and, for an s3:// dump, the bucket's symbols/.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from panic_button.logic.vmcore_analysis import analyse_vmcore, dump_report, write_report

from panic_button_cli.symbols_store import DEFAULT_SYMBOLS_ROOT, download_symbols

EPILOG = """examples:
  panic-button analyze /var/crash/202612011943/dump.202612011943
  panic-button analyze ./vmcore --symbols ./usr/lib/debug/boot/vmlinux-6.1.0-57-amd64
  panic-button analyze s3://my-evidence/evidence/i-0abc/exec-1/dump/dump.202612011943 --out ./report
"""
_LOG_NAMES = ("vmcore-dmesg.txt", "dmesg.txt")


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "analyze", help="analyse a kernel crash dump with drgn and write report.json / report.md",
        description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("dump", metavar="DUMP", help="a kdump vmcore: a path or s3://bucket/key")
    parser.add_argument("--symbols", type=Path, action="append", default=[], metavar="PATH",
                        help="a vmlinux with DWARF, or a folder of them (repeatable)")  # fmt: skip
    parser.add_argument("--symbols-dir", type=Path, default=DEFAULT_SYMBOLS_ROOT, metavar="DIR",
                        help=f"the local symbols store, <DIR>/<build-id>/vmlinux (default {DEFAULT_SYMBOLS_ROOT})")
    parser.add_argument("--dmesg", type=Path, metavar="FILE", help="the kernel log (default: found beside DUMP)")
    parser.add_argument("--out", type=Path, metavar="DIR", help="where to write the report (default: beside DUMP)")
    parser.set_defaults(func=run, local=True)


def run(args: argparse.Namespace) -> int:
    if args.dump.startswith("s3://"):
        return _run_s3(args)
    dump = Path(args.dump)
    if not dump.is_file():
        print(f"panic-button analyze: no such file: {dump}", file=sys.stderr)
        return 2
    return _analyse(args, dump, args.dmesg or kernel_log_beside(dump), args.out or dump.parent)


def kernel_log_beside(dump: Path) -> Path | None:
    """kdump-tools writes dmesg.<stamp> beside dump.<stamp>; others write vmcore-dmesg.txt."""
    stamp = dump.name.removeprefix("dump.") if dump.name.startswith("dump.") else None
    names = ([f"dmesg.{stamp}"] if stamp else []) + list(_LOG_NAMES)
    return next((dump.parent / name for name in names if (dump.parent / name).is_file()), None)


def _analyse(args: argparse.Namespace, dump: Path, dmesg: Path | None, out: Path) -> int:
    analysis = analyse_vmcore(dump, symbols=args.symbols, symbols_root=args.symbols_dir)
    log = dmesg.read_text(errors="replace") if dmesg else None
    report = dump_report(analysis, log, str(dump))
    out.mkdir(parents=True, exist_ok=True)
    json_path, markdown_path = write_report(report, out)
    print(f"culprit: {report.culprit}")
    if analysis.missing_symbols is not None:
        print("symbols missing; to add them:")
        for step in analysis.missing_symbols.how_to_add:
            print(f"  {step}")
    print(f"report: {json_path} {markdown_path} (analysis {analysis.status} in {analysis.elapsed_seconds} s)")
    return 0 if analysis.status in ("analysed", "no_symbols") else 1


def _run_s3(args: argparse.Namespace) -> int:
    import boto3

    bucket, _, key = args.dump.removeprefix("s3://").partition("/")
    s3 = boto3.client("s3")
    with tempfile.TemporaryDirectory(prefix="panic-button-analyze-") as scratch:
        dump = Path(scratch) / key.rsplit("/", 1)[-1]
        print(f"downloading s3://{bucket}/{key}")
        s3.download_file(bucket, key, str(dump))
        dmesg = args.dmesg or _kernel_log_from_bucket(s3, bucket, key, Path(scratch))
        _symbols_from_bucket(s3, bucket, dump, args.symbols_dir)
        return _analyse(args, dump, dmesg, args.out or Path.cwd() / f"{dump.name}-report")


def _kernel_log_from_bucket(s3: Any, bucket: str, key: str, scratch: Path) -> Path | None:
    folder = key.rsplit("/", 1)[0]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{folder}/").get("Contents", [])
    names: dict[str, str] = {str(item["Key"]).rsplit("/", 1)[-1]: str(item["Key"]) for item in listed}
    wanted = [name for name in names if name.startswith("dmesg") or name in _LOG_NAMES]
    if not wanted:
        return None
    local = scratch / wanted[0]
    s3.download_file(bucket, names[wanted[0]], str(local))
    return local


def _symbols_from_bucket(s3: Any, bucket: str, dump: Path, symbols_root: Path) -> None:
    """Put the bucket's symbols/<build-id>/vmlinux into the local store, when the bucket has it."""
    from panic_button.logic.vmcore_program import VmcoreUnreadable, open_vmcore, vmcoreinfo

    try:
        build_id = vmcoreinfo(open_vmcore(dump)).build_id
    except VmcoreUnreadable:
        return  # the analysis reports it
    if build_id and download_symbols(s3, bucket, build_id, symbols_root):
        print(f"symbols: s3://{bucket}/symbols/{build_id}/vmlinux")
