"""`panic-button start`: ask the workflow to rescue one instance now."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError
from panic_button.logic.targets import validate_instance_id
from panic_button.models.events import REASON_MAX_LENGTH

from panic_button_cli.operations.argument_checks import check_start_arguments
from panic_button_cli.operations.arguments import add_common_arguments, example_epilog
from panic_button_cli.operations.errors import OperatorError, report_errors
from panic_button_cli.operations.follow import FollowOptions, follow_execution
from panic_button_cli.operations.stack import find_stack

EXECUTION_NAME_LIMIT = 80


def execution_name(instance_id: str, now: datetime) -> str:
    """`<instance-id>-<yyyymmddThhmmssZ>`: sorts by time and tells people which instance it was."""
    return f"{instance_id}-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"[:EXECUTION_NAME_LIMIT]


def execution_input(instance_id: str, reason: str | None, dry_run: bool) -> dict[str, Any]:
    document: dict[str, Any] = {"instance_id": instance_id, "reason": reason or "manual start from panic-button"}
    if dry_run:  # omitted otherwise, so the stack's own dry-run default applies
        document["dry_run"] = True
    return document


def console_url(execution_arn: str) -> str:
    region = execution_arn.split(":")[3]
    return (f"https://{region}.console.aws.amazon.com/states/home?region={region}"
            f"#/v2/executions/details/{execution_arn}")


def start_execution(sfn: Any, state_machine_arn: str, *, instance_id: str, reason: str | None, dry_run: bool,
                    now: datetime) -> str:
    name = execution_name(validate_instance_id(instance_id), now)
    try:
        response = sfn.start_execution(stateMachineArn=state_machine_arn, name=name,
                                       input=json.dumps(execution_input(instance_id, reason, dry_run)))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
            raise OperatorError(f"execution {name} already exists", "wait a second and start again") from None
        raise
    return str(response["executionArn"])


def require_opted_in(ec2: Any, instance_id: str, tag: tuple[str, str] | None,
                     also: tuple[str, ...] = ()) -> None:
    """Refuse early, with the fix, what the workflow would only record as SKIPPED_NOT_AUTHORIZED.
    `also`: other values that opt in (the approval value)."""
    if tag is None:
        return
    key, value = tag
    try:
        reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    except ClientError as error:
        if "InvalidInstanceID" in error.response.get("Error", {}).get("Code", ""):
            raise OperatorError(f"instance {instance_id} not found in this account and Region",
                                "check the ID, --region and --profile") from None
        raise
    tags = {t["Key"]: t["Value"] for r in reservations for i in r["Instances"] for t in i.get("Tags", [])}
    if tags.get(key) not in (value, *also):
        raise OperatorError(f"instance {instance_id} is not opted in (no {key}={value} tag)",
                            f"tag it: aws ec2 create-tags --resources {instance_id} --tags Key={key},Value={value}")


def add_start_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "start", help="start a remediation of one instance now",
        description="Start the Panic Button workflow for one instance and print the execution ARN.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=example_epilog(
            "panic-button start i-0123456789abcdef0 --reason 'ssh hangs, console frozen'",
            "panic-button start i-0123456789abcdef0 --dry-run --follow",
            "panic-button start i-0123456789abcdef0 --stack PanicButton-staging --region eu-west-1",
        ),
    )
    parser.add_argument("instance_id", metavar="INSTANCE_ID", help="the hung instance, e.g. i-0123456789abcdef0")
    parser.add_argument("--reason", metavar="TEXT",
                        help=f"why, at most {REASON_MAX_LENGTH} characters (kept in the record and the notification)")
    parser.add_argument("--dry-run", action="store_true", help="run every check but send no interrupt")
    parser.add_argument("--follow", action="store_true", help="then follow the execution to its outcome")
    parser.add_argument("--interval", type=float, default=2.0, metavar="SECONDS", help=argparse.SUPPRESS)
    add_common_arguments(parser)
    parser.set_defaults(func=run_start, check=check_start_arguments)


def run_start(args: argparse.Namespace, session: boto3.Session,
              now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> int:
    def command() -> int:
        instance_id = validate_instance_id(args.instance_id)  # before any AWS call: bad input costs nothing
        stack = find_stack(session.client("cloudformation"), args.stack)
        require_opted_in(session.client("ec2"), instance_id, stack.opt_in_tag(), tuple(stack.opt_in_values()[1:]))
        sfn = session.client("stepfunctions")
        arn = start_execution(sfn, stack.StateMachineArn, instance_id=instance_id, reason=args.reason,
                              dry_run=args.dry_run, now=now())
        print(f"Started {arn}")
        print(f"Console {console_url(arn)}")
        if not args.follow:
            return 0
        return follow_execution(sfn, arn, FollowOptions(poll_seconds=args.interval))

    return report_errors(command)


__all__ = ["add_start_parser", "console_url", "execution_name", "run_start", "start_execution"]
