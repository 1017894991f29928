"""`panic-button history`: recent remediation records, as a table or JSON."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
from panic_button.logic.targets import validate_instance_id
from panic_button.models.record import RemediationRecord
from rich.console import Console
from rich.table import Table
from rich.text import Text

from panic_button_cli.operations.argument_checks import check_history_arguments
from panic_button_cli.operations.arguments import add_common_arguments, example_epilog
from panic_button_cli.operations.errors import report_errors
from panic_button_cli.operations.formatting import duration, outcome_style, size
from panic_button_cli.operations.records import parse_since, query_records
from panic_button_cli.operations.stack import find_stack

REASON_WIDTH = 48
PIPED_WIDTH = 200


def records_table(records: list[RemediationRecord]) -> Table:
    table = Table(title=f"{len(records)} remediation(s)", title_justify="left")
    # An organization hub's records of member instances name their account and Region ("-": the hub's own).
    located = any(record.account for record in records)
    for column in ("when (UTC)", *(("account", "region") if located else ()), "instance", "name", "outcome", "reason"):
        table.add_column(column, no_wrap=True)
    for column in ("to interrupt", "to recovery", "dump size"):
        table.add_column(column, justify="right")
    for record in records:
        table.add_row(
            record.requested_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            *((record.account or "-", record.region or "-") if located else ()),
            record.instance_id,
            record.instance_name or "-",
            Text(record.outcome.value, style=outcome_style(record.outcome)),
            # What hung the kernel says more than "crash dump collected", once the dump was analysed.
            Text(_truncate(record.culprit or record.reason, REASON_WIDTH)),
            duration(record.seconds_to_interrupt),
            duration(record.seconds_to_recovery),
            size(sum(artifact.bytes for artifact in record.artifacts if artifact.kind == "dump")),
        )
    return table


def records_json(records: list[RemediationRecord]) -> str:
    return json.dumps([record.model_dump(mode="json", exclude_none=True) for record in records], indent=2)


def _truncate(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def add_history_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "history", help="list recent remediations",
        description="List remediation records, newest first.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=example_epilog(
            "panic-button history                       # the last 7 days, every instance",
            "panic-button history --since 6h",
            "panic-button history --instance i-0123456789abcdef0 --since 30d",
            "panic-button history --json | jq '.[] | select(.outcome == \"NOT_RECOVERED\")'",
        ),
    )
    parser.add_argument("--instance", metavar="ID", help="only this instance")
    parser.add_argument("--since", metavar="DURATION", default="7d", help="how far back: 30m, 6h, 7d (default: 7d)")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    add_common_arguments(parser)
    parser.set_defaults(func=run_history, check=check_history_arguments)


def run_history(args: argparse.Namespace, session: boto3.Session,
                now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> int:
    def command() -> int:
        since = now() - parse_since(args.since)
        instance_id = validate_instance_id(args.instance) if args.instance else None
        stack = find_stack(session.client("cloudformation"), args.stack)
        records = query_records(session.client("dynamodb"), stack.TableName, since=since, instance_id=instance_id)
        if args.json:
            print(records_json(records))
        elif not records:
            print(f"No remediations since {since.astimezone(UTC):%Y-%m-%d %H:%M} UTC.")
        else:
            console = Console()
            # Piped output has no terminal width; keep rows whole for grep and less rather than 80 columns.
            (console if console.is_terminal else Console(width=PIPED_WIDTH)).print(records_table(records))
        return 0

    return report_errors(command)
