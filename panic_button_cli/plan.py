"""`make plan`: what the stack creates, counted from the synthesized template, and what it costs a month at
rest and per rescue, from public list prices. The README's "Before you deploy" section is this output
(`make docs` rewrites it; tests/docs/test_readme_plan.py keeps it current)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

# us-east-1 list prices in USD, without the free tier, from the pricing pages named on each line. The KMS,
# Step Functions, Lambda, CloudWatch and DynamoDB figures were checked on 2026-12-01 against copies of those
# pages; the S3, SNS and X-Ray figures are the pages' long-standing list prices, not re-checked that day.
KMS_KEY_MONTH = 1.00  # per key, and per each of its first two rotations; aws.amazon.com/kms/pricing/
SFN_TRANSITION = 0.025 / 1000  # Standard workflows, per state transition; aws.amazon.com/step-functions/pricing/
LAMBDA_GB_SECOND = 0.0000166667  # x86_64; aws.amazon.com/lambda/pricing/
LAMBDA_REQUEST = 0.20 / 1_000_000  # aws.amazon.com/lambda/pricing/
ALARM_MONTH = 0.10  # standard-resolution metric alarm; aws.amazon.com/cloudwatch/pricing/
DASHBOARD_MONTH = 3.00  # aws.amazon.com/cloudwatch/pricing/
CUSTOM_METRIC_MONTH = 0.30  # first 10,000 metrics; aws.amazon.com/cloudwatch/pricing/
LOGS_INGESTED_GB = 0.50  # aws.amazon.com/cloudwatch/pricing/
S3_GB_MONTH = 0.023  # S3 Standard, first 50 TB; aws.amazon.com/s3/pricing/
S3_PUT = 0.005 / 1000  # PUT, COPY, POST, LIST; aws.amazon.com/s3/pricing/
S3_GET = 0.0004 / 1000  # aws.amazon.com/s3/pricing/
DYNAMODB_WRITE = 0.625 / 1_000_000  # on-demand write request unit; aws.amazon.com/dynamodb/pricing/on-demand/
DYNAMODB_READ = 0.125 / 1_000_000  # on-demand read request unit; same page
SNS_PUBLISH = 0.50 / 1_000_000  # aws.amazon.com/sns/pricing/
SNS_EMAIL = 2.00 / 100_000  # email delivery; same page
XRAY_TRACE = 5.00 / 1_000_000  # traces recorded; aws.amazon.com/xray/pricing/
HOURS_PER_MONTH = 730

DEFAULT_FLEET = 100

# What the stack creates, in the order shown; every other type is summed up in one line.
SHOWN_TYPES = {
    "AWS::Lambda::Function": "Lambda functions",
    "AWS::Logs::LogGroup": "log groups",
    "AWS::KMS::Key": "customer-managed KMS keys",
    "AWS::S3::Bucket": "S3 buckets",
    "AWS::DynamoDB::Table": "DynamoDB tables (on-demand)",
    "AWS::SNS::Topic": "SNS topics",
    "AWS::SQS::Queue": "SQS queues",
    "AWS::StepFunctions::StateMachine": "Step Functions state machines (Standard)",
    "AWS::CloudWatch::Dashboard": "CloudWatch dashboards",
    "AWS::CloudWatch::Alarm": "CloudWatch alarms of the stack itself",
    "AWS::Events::Rule": "EventBridge rules",
    "AWS::SSM::Document": "SSM documents",
    "AWS::IAM::Role": "IAM roles",
}

# Assumptions about one rescue that collects a dump. The sandbox counts 19 state transitions when the
# first recovery poll, right after the interrupt, finds the instance back; every further poll adds 3
# (Wait, Check, Choice). Polls fit the console: about 5 for a reboot of a few minutes (the recovery
# replay, tests/unit/test_recovery_schedule.py). Locate and upload each await their command's end event.
RECOVERY_POLLS = 5
TRANSITIONS_PER_RESCUE = 19 + 3 * (RECOVERY_POLLS - 1)
DUMP_GIB, PART_MIB = 2.0, 64  # makedumpfile -d 31 of a 64 GiB instance; the collector's part size
# CompleteUpload reads no dump back (S3's composite checksum is checked): a few calls, whatever the size.
SECONDS_PER_STEP = {"TriageDump": 20.0, "StartUpload": 2.0}  # the rest: 1 s
# AwaitCommand: locate and upload; PollCommand only when an end event is lost or came too early.
INVOCATIONS_PER_STEP = {"CheckRecovery": RECOVERY_POLLS, "AwaitCommand": 2, "PollCommand": 0,
                        "ApplyFallback": 0, "AbandonCollection": 0}  # the rest: once
LOG_MB_PER_RESCUE = 1.0  # the state machine logs ALL with execution data, plus each step's Lambda log
DYNAMODB_WRITES, DYNAMODB_READS = 10, 10  # lock, cooldown, rate limit, record
EMAIL_SUBSCRIBERS = 1
# At rest: the alarm manager's reconcile run.
RECONCILE_SECONDS = 5.0
RECONCILE_LOG_KB = 20.0
RECONCILE_METRICS = 7  # handle_manage_alarms publishes seven counts every run


def count_resources(template: dict[str, Any]) -> Counter[str]:
    return Counter(resource["Type"] for resource in template["Resources"].values())


def _functions(template: dict[str, Any]) -> dict[str, float]:
    """Logical ID -> memory in GB of each Lambda function."""
    return {name: resource["Properties"].get("MemorySize", 128) / 1024
            for name, resource in template["Resources"].items() if resource["Type"] == "AWS::Lambda::Function"}


def _step(logical_id: str) -> str | None:
    """`StepsCheckRecoveryFunction8F...` -> `CheckRecovery`; None for functions outside the workflow."""
    match = re.match(r"^Steps([A-Za-z]+?)Function[0-9A-F]{8}$", logical_id)
    return match.group(1) if match else None


def _reconcile_runs_per_month(template: dict[str, Any]) -> float:
    for name, resource in template["Resources"].items():
        # The alarm manager's schedule, not the storm summaries' one-minute rule (that Lambda returns at once).
        if resource["Type"] != "AWS::Events::Rule" or "Reconcile" not in name:
            continue
        schedule = resource["Properties"].get("ScheduleExpression", "")
        match = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", schedule)
        if match:
            minutes = int(match.group(1)) * {"minute": 1, "hour": 60, "day": 1440}[match.group(2)]
            return HOURS_PER_MONTH * 60 / minutes
    return 0.0


def _evidence_retention_days(template: dict[str, Any]) -> int:
    days = [rule["ExpirationInDays"] for resource in template["Resources"].values()
            if resource["Type"] == "AWS::S3::Bucket"
            for rule in resource["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
            if rule.get("Id") == "expire-evidence"]
    return int(days[0]) if days else 30


def cost_at_rest(template: dict[str, Any], fleet: int) -> list[tuple[str, float]]:
    counts = count_resources(template)
    manager_gb = next((gb for name, gb in _functions(template).items() if "AlarmManager" in name), 0.5)
    runs = _reconcile_runs_per_month(template)
    own_alarms = counts["AWS::CloudWatch::Alarm"]
    return [
        (f"{counts['AWS::KMS::Key']} KMS key (first year: its yearly rotation adds $1 after each of the first two)",
         counts["AWS::KMS::Key"] * KMS_KEY_MONTH),
        (f"{counts['AWS::CloudWatch::Dashboard']} dashboard", counts["AWS::CloudWatch::Dashboard"] * DASHBOARD_MONTH),
        (f"{fleet + own_alarms} alarms: one per opted-in instance ({fleet}) and the stack's {own_alarms}",
         (fleet + own_alarms) * ALARM_MONTH),
        (f"{RECONCILE_METRICS} alarm-manager metrics, published every reconcile",
         RECONCILE_METRICS * CUSTOM_METRIC_MONTH),
        (f"{runs:.0f} reconcile runs ({RECONCILE_SECONDS:g} s at {manager_gb * 1024:.0f} MB, logs, traces)",
         runs * (RECONCILE_SECONDS * manager_gb * LAMBDA_GB_SECOND + LAMBDA_REQUEST + XRAY_TRACE
                 + RECONCILE_LOG_KB / 1024 / 1024 * LOGS_INGESTED_GB)),
    ]


def cost_per_rescue(template: dict[str, Any]) -> list[tuple[str, float]]:
    steps = [(step, gb) for name, gb in _functions(template).items() if (step := _step(name))]
    invocations = sum(INVOCATIONS_PER_STEP.get(step, 1) for step, _ in steps)
    gb_seconds = sum(INVOCATIONS_PER_STEP.get(step, 1) * SECONDS_PER_STEP.get(step, 1.0) * gb for step, gb in steps)
    retention_months = _evidence_retention_days(template) / 30
    parts = int(DUMP_GIB * 1024 / PART_MIB)
    return [
        (f"{TRANSITIONS_PER_RESCUE} state transitions", TRANSITIONS_PER_RESCUE * SFN_TRANSITION),
        (f"{invocations} Lambda invocations, {gb_seconds:.0f} GB-s", invocations * LAMBDA_REQUEST
         + gb_seconds * LAMBDA_GB_SECOND),
        (f"a {DUMP_GIB:g} GiB dump kept {_evidence_retention_days(template)} days ({parts} parts up, read back once)",
         DUMP_GIB * retention_months * S3_GB_MONTH + (parts + 10) * S3_PUT + (parts + 10) * S3_GET),
        (f"{LOG_MB_PER_RESCUE:g} MB of logs, {invocations + 1} traces", LOG_MB_PER_RESCUE / 1024 * LOGS_INGESTED_GB
         + (invocations + 1) * XRAY_TRACE),
        (f"{DYNAMODB_WRITES} DynamoDB writes and {DYNAMODB_READS} reads, 1 SNS message to {EMAIL_SUBSCRIBERS} email",
         DYNAMODB_WRITES * DYNAMODB_WRITE + DYNAMODB_READS * DYNAMODB_READ + SNS_PUBLISH
         + EMAIL_SUBSCRIBERS * SNS_EMAIL),
    ]


def render(template: dict[str, Any], fleet: int = DEFAULT_FLEET) -> str:
    """The plan as Markdown: readable in a terminal, and the README's section."""
    counts = count_resources(template)
    lines = ["| what the stack creates | count | CloudFormation type |", "|---|---|---|"]
    lines += [f"| {label} | {counts[kind]} | `{kind}` |" for kind, label in SHOWN_TYPES.items() if counts[kind]]
    others = {kind: n for kind, n in counts.items() if kind not in SHOWN_TYPES}
    listed = ", ".join(f"{n} {kind.split('::')[-1]}" for kind, n in sorted(others.items()))
    lines.append(f"| other resources: {listed} | {sum(others.values())} | |")
    lines += [f"| status-check alarms the alarm manager creates at run time (one per opted-in instance) | "
              f"{fleet} (assumed fleet) | `AWS::CloudWatch::Alarm` |", ""]
    for title, items in ((f"Monthly cost at rest, fleet of {fleet}", cost_at_rest(template, fleet)),
                         ("Cost per rescue that collects a dump", cost_per_rescue(template))):
        lines += [f"| {title} | USD |", "|---|---|"]
        lines += [f"| {label} | {dollars:,.4f} |" for label, dollars in items]
        lines += [f"| **total** | **{sum(d for _, d in items):,.2f}** |", ""]
    lines += ["Assumptions: us-east-1 list prices without the free tier (constants in `panic_button_cli/plan.py`, "
              "with their sources); x86_64 Lambdas at the template's memory sizes, 1 s per step except "
              f"TriageDump {SECONDS_PER_STEP['TriageDump']:g} s (it reads the dump back to analyse it), "
              f"{RECOVERY_POLLS} recovery polls, collection completed by SSM's events; EventBridge rules on AWS events "
              "and schedules, idle SQS/SNS, empty buckets and DynamoDB's few records cost nothing; data transfer "
              "out of AWS is not counted."]
    return "\n".join(lines) + "\n"


BEGIN = "<!-- stack-plan:begin (generated by `make docs` from cdk.out; do not edit) -->"
END = "<!-- stack-plan:end -->"


def readme_block(template_path: Path) -> str:
    return f"{BEGIN}\n{render(json.loads(template_path.read_text()))}{END}"


def update_readme(readme: Path, template_path: Path) -> bool:
    """Replace the README's plan section; True when it changed."""
    text = readme.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    updated = text[:start] + readme_block(template_path) + text[end:]
    if updated == text:
        return False
    readme.write_text(updated)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make plan", description=__doc__)
    parser.add_argument("--fleet", type=int, default=DEFAULT_FLEET, help="opted-in instances (default %(default)s)")
    parser.add_argument("--template", type=Path, default=Path("cdk.out/PanicButton.template.json"))
    parser.add_argument("--update-readme", type=Path, metavar="README.md", help="rewrite this README's section")
    args = parser.parse_args(argv)
    if args.fleet < 0:
        parser.error("--fleet must be 0 or more")
    if args.update_readme:
        print("README plan updated" if update_readme(args.update_readme, args.template) else "README plan current")
        return 0
    print(render(json.loads(args.template.read_text()), args.fleet), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
