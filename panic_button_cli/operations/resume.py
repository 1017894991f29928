"""`panic-button resume`: reset the fleet circuit breaker now instead of waiting for its window to end."""

from __future__ import annotations

import argparse
from typing import Any

import boto3

from panic_button_cli.operations.arguments import add_common_arguments, example_epilog
from panic_button_cli.operations.errors import report_errors
from panic_button_cli.operations.stack import find_stack


def add_resume_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "resume", help="reset the fleet circuit breaker",
        description="Delete the circuit breaker's alarm counters: the next alarms are counted from zero, "
                    "and a new trip notifies again. Needs dynamodb:Query and dynamodb:DeleteItem on the table.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=example_epilog("panic-button resume"),
    )
    add_common_arguments(parser)
    parser.set_defaults(func=run_resume)


def reset_breaker(dynamodb: Any, table_name: str) -> int:
    """Delete every breaker counter (the current window's and any older one the TTL has not removed yet)."""
    query: dict[str, Any] = {
        "TableName": table_name, "ConsistentRead": True, "ProjectionExpression": "pk, sk",
        "KeyConditionExpression": "pk = :fleet AND begins_with(sk, :breaker)",
        "ExpressionAttributeValues": {":fleet": {"S": "FLEET"}, ":breaker": {"S": "BREAKER#"}},
    }
    deleted = 0
    while True:
        page = dynamodb.query(**query)
        for item in page["Items"]:
            dynamodb.delete_item(TableName=table_name, Key={"pk": item["pk"], "sk": item["sk"]})
            deleted += 1
        if "LastEvaluatedKey" not in page:
            return deleted
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def run_resume(args: argparse.Namespace, session: boto3.Session) -> int:
    def command() -> int:
        stack = find_stack(session.client("cloudformation"), args.stack)
        deleted = reset_breaker(session.client("dynamodb"), stack.TableName)
        print(f"Circuit breaker reset ({deleted} window counter(s) deleted); interrupts resume within the rate limit.")
        return 0

    return report_errors(command)
