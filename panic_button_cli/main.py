"""`panic-button`: simulate and demo on the local sandbox; start, follow, history and readiness on a deployed stack."""

from __future__ import annotations

import argparse
import sys

from panic_button_cli import analyze_command, demo, simulate_command, symbols_command
from panic_button_cli.operations import (
    add_follow_parser,
    add_history_parser,
    add_start_parser,
    open_session,
    report_errors,
)
from panic_button_cli.operations.readiness import add_readiness_parser

DESCRIPTION = """Panic Button: rescue hung EC2 instances with a diagnostic interrupt and keep the crash dump.

examples:
  panic-button demo                                    # narrated rescue of simulated instances
  panic-button simulate --instance spec.json --event alarm.json --json
  panic-button start i-0abc1234def567890 --reason "ssh hangs" --follow
  panic-button history --since 24h
  panic-button readiness                               # will the opted-in instances leave a dump?
  panic-button analyze ./dump.202612011943             # who hung the kernel? (report.json / report.md)
  panic-button symbols add linux-image-6.1.0-57-amd64-dbg
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="panic-button", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    simulate_command.add_parser(commands)
    demo.add_parser(commands)
    add_start_parser(commands)
    add_follow_parser(commands)
    add_history_parser(commands)
    add_readiness_parser(commands)
    analyze_command.add_parser(commands)
    symbols_command.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "local", False):
        return int(args.func(args))
    return report_errors(lambda: int(args.func(args, open_session(args))))


if __name__ == "__main__":
    sys.exit(main())
