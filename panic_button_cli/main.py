"""`panic-button`: simulate and demo on the local sandbox; start, follow, history and readiness on a deployed stack."""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version

from panic_button_cli import analyze_command, demo, sandbox_command, simulate_command, symbols_command
from panic_button_cli.command_line import attach_dashed_values
from panic_button_cli.operations import (
    add_follow_parser,
    add_history_parser,
    add_start_parser,
    open_session,
    report_errors,
)
from panic_button_cli.operations.approvals import add_approval_parsers
from panic_button_cli.operations.readiness import add_readiness_parser
from panic_button_cli.operations.resume import add_resume_parser

DESCRIPTION = """Panic Button: rescue hung EC2 instances with a diagnostic interrupt and keep the crash dump.

examples:
  panic-button demo                                    # narrated rescue of simulated instances
  panic-button sandbox                                 # a local stack and fleet to try the commands below on
  panic-button simulate --instance spec.json --event alarm.json --json
  panic-button start i-0abc1234def567890 --reason "ssh hangs" --follow
  panic-button history --since 24h
  panic-button readiness                               # will the opted-in instances leave a dump?
  panic-button analyze ./dump.202612011943             # who hung the kernel? (report.json / report.md)
  panic-button symbols add linux-image-6.1.0-57-amd64-dbg
"""


def _version() -> str:
    try:
        return version("panic-button")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed; run make setup)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="panic-button", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    simulate_command.add_parser(commands)
    demo.add_parser(commands)
    sandbox_command.add_parser(commands)
    add_start_parser(commands)
    add_follow_parser(commands)
    add_history_parser(commands)
    add_readiness_parser(commands)
    add_resume_parser(commands)
    add_approval_parsers(commands)
    analyze_command.add_parser(commands)
    symbols_command.add_parser(commands)
    for command_parser in commands.choices.values():
        # Unknown options are reported by the command's own parser, with its usage, not the top level's.
        command_parser.set_defaults(command_parser=command_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args, unknown = build_parser().parse_known_args(attach_dashed_values(sys.argv[1:] if argv is None else argv))
    if unknown:
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return report_errors(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    if getattr(args, "local", False):
        return int(args.func(args))
    args.check(args)  # before the session: bad input is reported before any profile, Region or call
    return int(args.func(args, open_session(args)))


if __name__ == "__main__":
    sys.exit(main())
