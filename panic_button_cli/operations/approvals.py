"""`panic-button approve|deny|hold EXECUTION`: answer a run that waits for a person's decision.

The decision is taken in DynamoDB first (a conditional update), so of two operators only one decides
and the other is told who did and when; then the task token is answered with the caller's identity."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError
from panic_button.clock import iso
from panic_button.dal.approval_store import AlreadyDecided, ApprovalRequest, ApprovalStore, Verdict
from panic_button.logic.approval import DENIED_ERROR, denial_cause

from panic_button_cli.operations.argument_checks import check_reason, check_stack
from panic_button_cli.operations.arguments import add_common_arguments, example_epilog
from panic_button_cli.operations.errors import OperatorError, report_errors
from panic_button_cli.operations.stack import find_stack

# What Step Functions answers for a token whose wait has ended (timed out, answered, or stopped).
_CLOSED_CODES = {"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"}
_ARN = "arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME"


def check_execution_arn(value: str) -> None:
    if not value.startswith("arn:") or ":execution:" not in value:
        raise OperatorError(f"{value!r} is not an execution ARN", f"pass {_ARN}, as the approval request names it")


def _pending(store: ApprovalStore, execution_arn: str) -> ApprovalRequest:
    request = store.get(execution_arn)
    if request is None:
        raise OperatorError(f"{execution_arn} is not waiting for approval",
                            "only runs of instances opted in with approval wait; see panic-button follow")
    return request


def decide(sfn: Any, store: ApprovalStore, execution_arn: str, *, verdict: Verdict, caller: str,
           reason: str, now: datetime) -> ApprovalRequest:
    _pending(store, execution_arn)
    try:
        request = store.decide(execution_arn, decision=verdict, decided_by=caller, decided_at=now, reason=reason)
    except AlreadyDecided as taken:
        raise OperatorError(f"{execution_arn} was {taken}", "nothing was sent") from None
    try:
        if verdict == "approve":
            sfn.send_task_success(taskToken=request.task_token, output=json.dumps(
                {"decision": "approve", "decided_by": caller, "decided_at": iso(now), "reason": reason}))
        else:
            sfn.send_task_failure(taskToken=request.task_token, error=DENIED_ERROR,
                                  cause=denial_cause(decided_by=caller, decided_at=now, reason=reason))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in _CLOSED_CODES:
            raise
        store.withdraw(execution_arn, decided_by=caller)
        raise OperatorError(f"{execution_arn} no longer waits for a decision (the wait timed out or the run ended)",
                            "see panic-button follow for what the configuration decided") from None
    return request


def hold(sfn: Any, store: ApprovalStore, execution_arn: str) -> None:
    request = _pending(store, execution_arn)
    if request.decision is not None:
        raise OperatorError(f"{execution_arn} was already decided ({request.decision}) by {request.decided_by} at "
                            f"{iso(request.decided_at) if request.decided_at else 'an unknown time'}")
    try:
        sfn.send_task_heartbeat(taskToken=request.task_token)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in _CLOSED_CODES:
            raise
        raise OperatorError(f"{execution_arn} no longer waits for a decision",
                            "see panic-button follow for what the configuration decided") from None


def add_approval_parsers(subparsers: Any) -> None:
    for verdict, help_text in (("approve", "let a waiting run send its diagnostic interrupt"),
                               ("deny", "refuse a waiting run its interrupt (recorded as DENIED_BY_OPERATOR)"),
                               ("hold", "say you are looking: reset the waiting run's heartbeat window")):
        parser = subparsers.add_parser(
            verdict, help=help_text, description=f"{help_text[0].upper()}{help_text[1:]}.",
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog=example_epilog(f"panic-button {verdict} {_ARN}"
                                  + (" --reason 'primary in maintenance, failing over by hand'"
                                     if verdict == "deny" else "")))
        parser.add_argument("execution", metavar="EXECUTION", help="the execution ARN the approval request names")
        if verdict != "hold":
            parser.add_argument("--reason", metavar="TEXT", required=verdict == "deny",
                                help="why (kept in the record)" + (", required" if verdict == "deny" else ""))
        add_common_arguments(parser)
        parser.set_defaults(func=run_approval, check=check_approval_arguments, verdict=verdict)


def check_approval_arguments(args: argparse.Namespace) -> None:
    check_execution_arn(args.execution)
    check_reason(getattr(args, "reason", None))
    if args.verdict == "deny" and not (args.reason or "").strip():
        raise OperatorError("deny needs a --reason", "say why, for the record")
    check_stack(args)


def run_approval(args: argparse.Namespace, session: boto3.Session,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> int:
    def command() -> int:
        stack = find_stack(session.client("cloudformation"), args.stack)
        store = ApprovalStore(session.client("dynamodb"), stack.TableName)
        sfn = session.client("stepfunctions")
        if args.verdict == "hold":
            hold(sfn, store, args.execution)
            print(f"Held {args.execution}: the heartbeat window starts again")
            return 0
        caller = str(session.client("sts").get_caller_identity()["Arn"])
        moment = now().replace(microsecond=0)
        decide(sfn, store, args.execution, verdict=args.verdict, caller=caller, reason=args.reason or "",
               now=moment)
        done = ("approved: the instance is re-checked, then interrupted" if args.verdict == "approve"
                else "denied: no interrupt is sent")
        print(f"{args.execution} {done} (by {caller} at {iso(moment)})")
        return 0

    return report_errors(command)


__all__ = ["add_approval_parsers", "decide", "hold", "run_approval"]
