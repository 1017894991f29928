"""`panic-button symbols add PACKAGE|DEB|RPM|VMLINUX`: file kernel debug symbols under their build ID."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from panic_button_cli.symbols_store import DEFAULT_SYMBOLS_ROOT, SymbolsError, add_symbols, upload_symbols

EPILOG = """examples:
  panic-button symbols add linux-image-6.1.0-57-amd64-dbg                  # apt-get download, then extract
  panic-button symbols add linux-image-6.1.0-57-amd64-dbg_6.1.192-3_amd64.deb --bucket my-evidence
  panic-button symbols add kernel-debuginfo-6.1.141-165.249.amzn2023.x86_64.rpm --bucket my-evidence
  panic-button symbols add ./usr/lib/debug/lib/modules/6.1.141-165.249.amzn2023.x86_64/vmlinux
"""


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("symbols", help="manage the kernel debug symbols the dump analysis uses")
    actions = parser.add_subparsers(dest="symbols_action", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add", help="store a vmlinux (from a -dbg/-dbgsym .deb, a kernel-debuginfo .rpm, a Debian package name, "
                       "or a file) by build ID",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    add.add_argument("source", metavar="PACKAGE|DEB|RPM|VMLINUX")
    add.add_argument("--symbols-dir", type=Path, default=DEFAULT_SYMBOLS_ROOT, metavar="DIR",
                     help=f"local store, <DIR>/<build-id>/vmlinux (default {DEFAULT_SYMBOLS_ROOT})")  # fmt: skip
    add.add_argument("--bucket", help="also upload to s3://BUCKET/symbols/<build-id>/vmlinux (the evidence bucket)")
    add.set_defaults(func=run_add, local=True)


def run_add(args: argparse.Namespace) -> int:
    try:
        build_id, vmlinux = add_symbols(args.source, args.symbols_dir)
    except SymbolsError as exc:
        print(f"panic-button symbols add: {exc}", file=sys.stderr)
        return 1
    print(f"build ID {build_id}: {vmlinux}")
    if args.bucket:
        import boto3

        print(f"uploaded {upload_symbols(boto3.client('s3'), args.bucket, build_id, vmlinux)}")
    return 0
