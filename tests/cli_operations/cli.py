"""Parse a command line the way main.py will: one subparsers group with our commands registered."""

from __future__ import annotations

import argparse

from panic_button_cli.operations import add_follow_parser, add_history_parser, add_start_parser
from panic_button_cli.operations.approvals import add_approval_parsers


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="panic-button")
    subparsers = root.add_subparsers(dest="command", required=True)
    for add in (add_start_parser, add_follow_parser, add_history_parser, add_approval_parsers):
        add(subparsers)
    return root


def parse(*argv: str) -> argparse.Namespace:
    return parser().parse_args(list(argv))
