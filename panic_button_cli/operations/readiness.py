"""`panic-button readiness`: will a diagnostic interrupt leave a crash dump on these instances?

Runs the stack's read-only readiness document on opted-in, SSM-managed instances (or the ones named),
adds instance-type support and racing alarms, and prints READY / NOT READY per instance with the reasons.
Exit code: 0 all ready, 1 some not ready, 2 error."""

from __future__ import annotations

import argparse
from typing import Any

import boto3
from panic_button.aws import RETRY_CONFIG
from panic_button.logic.alarms.inventory import racing_alarms
from panic_button.logic.interrupt_support import support_problems
from panic_button.logic.targets import validate_instance_id
from panic_button.models.alarms import AlarmConflict

from panic_button_cli.operations.argument_checks import check_readiness_arguments
from panic_button_cli.operations.arguments import add_common_arguments, example_epilog
from panic_button_cli.operations.errors import OperatorError, report_errors
from panic_button_cli.operations.readiness_checks import (
    READINESS_STEPS,
    Check,
    InstanceFacts,
    ReadinessReport,
    assess,
    fleet_report,
    instance_findings,
    script_findings,
)
from panic_button_cli.operations.readiness_fleet import (
    PollOptions,
    listed_instances,
    opted_in_instances,
    run_document,
    with_agents,
)
from panic_button_cli.operations.readiness_view import print_report
from panic_button_cli.operations.stack import find_stack


def check_readiness(session: boto3.Session, *, document: str, opt_in_tag: str, instance_ids: list[str],
                    options: PollOptions) -> ReadinessReport:
    """`document`: the stack's readiness document; `opt_in_tag`: "key=value", as the stack outputs them."""
    # One GetCommandInvocation per instance per poll: standard retries absorb throttling on large fleets.
    ec2, ssm = session.client("ec2"), session.client("ssm", config=RETRY_CONFIG)
    key, _, value = opt_in_tag.partition("=")
    found = listed_instances(ec2, instance_ids, key, value) if instance_ids else opted_in_instances(ec2, key, value)
    if not found:
        raise OperatorError(f"no running instance is tagged {opt_in_tag}",
                            "tag instances to opt them in, or name them with --instance")
    instances = with_agents(ssm, found)
    # The document runs on every reachable instance, opted in or not: it is read-only, and an operator who
    # names an instance wants all of its problems at once.
    steps = {i.instance_id: READINESS_STEPS[i.platform_type] for i in instances
             if i.state == "running" and i.agent_online and i.platform_type in READINESS_STEPS}
    outcomes = run_document(ssm, document, steps, options) if steps else {}
    conflicts = _conflicts_by_instance(racing_alarms(session.client("cloudwatch"), [i.instance_id for i in instances]))
    support = support_problems(ec2, (i.instance_type for i in instances))  # one call per 100 distinct types
    assessed = []
    for instance in instances:
        checks = instance_findings(instance, opt_in_tag, support[instance.instance_type],
                                   conflicts.get(instance.instance_id, []))
        checks += script_findings(outcomes.get(instance.instance_id))
        checks += _unsupported_platform(instance)
        assessed.append(assess(instance, checks))
    return fleet_report(assessed)


def _unsupported_platform(instance: InstanceFacts) -> list[Check]:
    if not instance.agent_online or instance.platform_type in READINESS_STEPS:
        return []
    return [Check(name="platform", status="fail",
                  detail=f"{instance.platform_type or 'unknown'} platform: no readiness check and no collector")]


def _conflicts_by_instance(conflicts: list[AlarmConflict]) -> dict[str, list[AlarmConflict]]:
    grouped: dict[str, list[AlarmConflict]] = {}
    for conflict in conflicts:
        grouped.setdefault(conflict.instance_id, []).append(conflict)
    return grouped


def add_readiness_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "readiness", help="check that instances will leave a crash dump",
        description="Run the read-only readiness document on opted-in, SSM-managed instances (or the ones\n"
                    "named) and report READY / NOT READY with the reasons: kdump or CrashControl set-up,\n"
                    "the SSM agent, interrupt support of the instance type, and alarms that race the rescue.\n"
                    "Exit code: 0 all ready, 1 some not ready, 2 error.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=example_epilog(
            "panic-button readiness                              # every opted-in instance",
            "panic-button readiness --instance i-0123456789abcdef0 i-0fedcba9876543210",
            "panic-button readiness --json | jq -r '.instances[] | select(.ready | not) | .instance_id'",
        ),
    )
    parser.add_argument("--instance", metavar="ID", action="extend", nargs="+", default=[],
                        help="check these instances (default: every running opted-in instance)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    parser.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                        help="how long to wait for the instances' answers (default: %(default)s)")
    parser.add_argument("--interval", type=float, default=1.0, metavar="SECONDS", help=argparse.SUPPRESS)
    add_common_arguments(parser)
    parser.set_defaults(func=run_readiness, check=check_readiness_arguments)


def run_readiness(args: argparse.Namespace, session: boto3.Session) -> int:
    def command() -> int:
        instance_ids = [validate_instance_id(instance_id) for instance_id in args.instance]  # before any AWS call
        stack = find_stack(session.client("cloudformation"), args.stack)
        if stack.ReadinessDocument is None or stack.OptInTag is None:  # a stack from before readiness
            raise OperatorError(f"stack {stack.stack_name!r} has no output ReadinessDocument or OptInTag",
                                "deploy this version of Panic Button (cdk deploy)")
        report = check_readiness(session, document=stack.ReadinessDocument, opt_in_tag=stack.OptInTag,
                                 instance_ids=instance_ids,
                                 options=PollOptions(poll_seconds=args.interval, timeout_seconds=args.timeout))
        print_report(report, args.json)
        return 0 if report.summary.not_ready == 0 else 1

    return report_errors(command)
