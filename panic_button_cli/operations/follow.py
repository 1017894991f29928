"""`panic-button follow`: watch one execution to its outcome; the exit code says how it ended."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from panic_button.logic.targets import validate_instance_id
from panic_button.models.record import RemediationRecord
from rich.console import Console

from panic_button_cli.operations.argument_checks import check_follow_arguments
from panic_button_cli.operations.arguments import add_common_arguments, example_epilog
from panic_button_cli.operations.errors import report_errors
from panic_button_cli.operations.executions import describe_execution, latest_execution_of, new_history_events
from panic_button_cli.operations.progress import ExecutionProgress, ExecutionResult, execution_result
from panic_button_cli.operations.progress_view import ProgressDisplay, print_result
from panic_button_cli.operations.records import in_flight_execution, latest_record_executions, record_of_execution
from panic_button_cli.operations.stack import find_stack

EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class FollowOptions:
    poll_seconds: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    console: Console | None = None  # None: a console on stdout, created when following starts
    # An execution that ended outside the workflow (stopped, timed out, failed) has no outcome in its
    # history: the aborted-run recorder writes its record moments later. Wait this long for it.
    record_wait_seconds: float = 60.0


RecordFinder = Callable[[str, datetime], RemediationRecord | None]  # (execution ARN, its start) -> its record


def follow_execution(sfn: Any, execution_arn: str, options: FollowOptions | None = None,
                     find_record: RecordFinder | None = None) -> int:
    options = options or FollowOptions()
    console = options.console or Console()
    describe_execution(sfn, execution_arn)  # a wrong ARN fails here, with its fix, before any spinner
    console.print(f"Following {execution_arn}", highlight=False, soft_wrap=True)
    progress = ExecutionProgress()
    try:
        with ProgressDisplay(console) as display:
            while True:
                entered = progress.apply(new_history_events(sfn, execution_arn,
                                                            after_event_id=progress.last_event_id))
                display.show(progress, entered, options.clock())
                if progress.finished:
                    break
                options.sleep(options.poll_seconds)
    except KeyboardInterrupt:
        print(f"stopped following; the execution goes on: {execution_arn}", file=sys.stderr)
        return EXIT_INTERRUPTED
    result = execution_result(progress)
    if result.outcome is None and find_record is not None and progress.started_at is not None:
        result = _recorded_result(result, execution_arn, progress.started_at, find_record, options)
    print_result(console, result, progress)
    if result.outcome is None:
        print(f"error: execution {result.status} without an outcome; see the console and the workflow logs",
              file=sys.stderr)
    return result.exit_code


def _recorded_result(result: ExecutionResult, execution_arn: str, started_at: datetime, find_record: RecordFinder,
                     options: FollowOptions) -> ExecutionResult:
    waited = 0.0
    while (record := find_record(execution_arn, started_at)) is None:
        if waited >= options.record_wait_seconds:
            return result
        options.sleep(options.poll_seconds)
        waited += options.poll_seconds
    artifacts = [(artifact.s3_uri, artifact.bytes, artifact.kind) for artifact in record.artifacts]
    return ExecutionResult(result.status, record.outcome, record.reason, artifacts, record.triage_summary,
                           result.error)


def add_follow_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "follow", help="follow an execution to its outcome",
        description="Show an execution's progress until it ends, then its outcome, artifacts and triage.\n"
                    "Exit code: 0 DUMP_COLLECTED or DRY_RUN, 1 any other outcome, 2 error.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=example_epilog(
            "panic-button follow i-0123456789abcdef0          # the instance's newest execution",
            "panic-button follow arn:aws:states:us-east-1:123456789012:execution:Remediation:i-0123...",
            "panic-button follow i-0123456789abcdef0 && echo 'dump collected'",
        ),
    )
    parser.add_argument("target", metavar="EXECUTION_ARN|INSTANCE_ID", help="an execution ARN or an instance ID")
    parser.add_argument("--interval", type=float, default=2.0, metavar="SECONDS",
                        help="seconds between polls (default: %(default)s)")
    add_common_arguments(parser)
    parser.set_defaults(func=run_follow, check=check_follow_arguments)


def run_follow(args: argparse.Namespace, session: boto3.Session, options: FollowOptions | None = None) -> int:
    def command() -> int:
        sfn = session.client("stepfunctions")

        def find_record(execution_arn: str, started_at: datetime) -> RemediationRecord | None:
            stack = find_stack(session.client("cloudformation"), args.stack)
            return record_of_execution(session.client("dynamodb"), stack.TableName, execution_arn,
                                       started_at=started_at)

        if args.target.startswith("arn:"):
            execution_arn = args.target
        else:
            instance_id = validate_instance_id(args.target)
            stack = find_stack(session.client("cloudformation"), args.stack)
            dynamodb = session.client("dynamodb")
            execution_arn = in_flight_execution(dynamodb, stack.TableName, stack.StateMachineArn, instance_id,
                                                time.time()) or latest_execution_of(
                sfn, stack.StateMachineArn, instance_id,
                lambda instance: latest_record_executions(dynamodb, stack.TableName, instance),
            )
        return follow_execution(sfn, execution_arn, options or FollowOptions(poll_seconds=args.interval),
                                find_record)

    return report_errors(command)
