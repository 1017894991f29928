"""Checks of the operations commands' arguments, run by main.py before the session, the Region or any call:
bad input is one line with the fix and exit code 2, and costs nothing."""

from __future__ import annotations

import argparse
import math
import re

from panic_button.errors import InvalidInput
from panic_button.logic.targets import validate_instance_id
from panic_button.models.events import REASON_MAX_LENGTH

from infra.config import STACK_NAME_PATTERN
from panic_button_cli.operations.errors import OperatorError
from panic_button_cli.operations.instance_target import parse_instance
from panic_button_cli.operations.records import parse_since

_STACK_NAME = re.compile(STACK_NAME_PATTERN)
_EXECUTION_ARN = re.compile(r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:\s]+:[^:\s]+$")
EXECUTION_ARN_SHAPE = "arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME"


def check_stack(args: argparse.Namespace) -> None:
    if not _STACK_NAME.fullmatch(args.stack):
        raise OperatorError(f"--stack {args.stack!r} is not a CloudFormation stack name",
                            "use letters, digits and hyphens, starting with a letter (at most 128)")


def check_seconds(option: str, value: float, *, zero_allowed: bool, example: str) -> None:
    """Poll intervals may be 0 (poll without pause); timeouts must leave some time."""
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_allowed):
        bound = "0 or more" if zero_allowed else "more than 0"
        raise OperatorError(f"{option} {value:g} is not a number of seconds {bound}", f"pass e.g. {option} {example}")


def check_reason(reason: str | None) -> None:
    if reason is not None and len(reason) > REASON_MAX_LENGTH:
        raise OperatorError(f"--reason is {len(reason):,} characters; the workflow accepts at most {REASON_MAX_LENGTH}",
                            "shorten it")


def check_follow_target(target: str) -> None:
    if target.startswith("arn:"):
        if not _EXECUTION_ARN.fullmatch(target):
            raise OperatorError(f"{target!r} is not an execution ARN", f"pass {EXECUTION_ARN_SHAPE}")
        return
    try:
        validate_instance_id(target)
    except InvalidInput:
        raise OperatorError(f"{target!r} is neither an execution ARN nor an instance ID",
                            f"pass {EXECUTION_ARN_SHAPE} or an ID like i-0123456789abcdef0") from None


def check_start_arguments(args: argparse.Namespace) -> None:
    parse_instance(args.instance_id, args.account)
    check_reason(args.reason)
    check_seconds("--interval", args.interval, zero_allowed=True, example="2")
    check_stack(args)


def check_follow_arguments(args: argparse.Namespace) -> None:
    check_follow_target(args.target)
    check_seconds("--interval", args.interval, zero_allowed=True, example="2")
    check_stack(args)


def check_history_arguments(args: argparse.Namespace) -> None:
    parse_since(args.since)
    if args.instance:
        validate_instance_id(args.instance)
    check_stack(args)


def check_readiness_arguments(args: argparse.Namespace) -> None:
    for instance_id in args.instance:
        validate_instance_id(instance_id)
    check_seconds("--timeout", args.timeout, zero_allowed=False, example="120")
    check_seconds("--interval", args.interval, zero_allowed=True, example="1")
    check_stack(args)
