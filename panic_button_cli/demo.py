"""`panic-button demo` (`make demo`): a narrated rescue of several simulated instances, end to end."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from panic_button_cli.demo_kernel import KERNEL_CAST, KERNEL_REAL_AND_SIMULATED, KERNEL_TIME_SCALE, kernel_story
from panic_button_cli.demo_output import copy_artifacts, phase_times, write_index
from panic_button_cli.demo_scenario import CAST, REAL_AND_SIMULATED, Cast
from panic_button_cli.sandbox_session import DEFAULT_TIME_SCALE, open_sandbox
from panic_button_cli.simulation import collect_result, wait_all
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.sandbox import Sandbox

COLORS = {"DUMP_COLLECTED": "green", "DRY_RUN": "green", "NOT_RECOVERED": "red", "COLLECTION_FAILED": "red",
          "WORKFLOW_FAILED": "red", "WORKFLOW_ABORTED": "red"}


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("demo", help="narrated rescue of simulated hung instances (no AWS needed)",
                                 epilog="example:\n  panic-button demo --output demo-output",
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path("demo-output"), help="where artifacts are copied")
    parser.add_argument("--time-scale", type=float, default=None,
                        help=f"default {DEFAULT_TIME_SCALE:g}, with --kernel {KERNEL_TIME_SCALE:g}")
    parser.add_argument("--kernel", action="store_true", help="rescue one real Linux kernel under QEMU instead")
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"), help="synthesized cloud assembly")
    parser.set_defaults(func=run, local=True)


def run(args: argparse.Namespace) -> int:
    console = Console(file=sys.stdout)  # bound now: the handlers' own logs go to a file below
    console.rule("[bold]Panic Button demo")
    cast = KERNEL_CAST if args.kernel else CAST
    args.time_scale = args.time_scale or (KERNEL_TIME_SCALE if args.kernel else DEFAULT_TIME_SCALE)
    console.print((KERNEL_REAL_AND_SIMULATED if args.kernel else REAL_AND_SIMULATED).format(scale=args.time_scale))
    began = time.monotonic()
    args.output.mkdir(parents=True, exist_ok=True)
    lambda_logs = args.output / "lambda-logs.jsonl"
    with lambda_logs.open("w") as log_file, contextlib.redirect_stdout(log_file), \
            tempfile.TemporaryDirectory(prefix="panic-button-demo-") as workdir, \
            open_sandbox(Path(workdir), args.cdk_out, args.time_scale) as (sandbox, deployment):
        console.print(f"\nDeployed stack [bold]{deployment.stack_name}[/] from {args.cdk_out}/ into the sandbox.")
        rows = _launch_and_trigger(console, sandbox, deployment, cast)
        progress: dict[str, tuple[str, float]] = {}
        # Live must not re-route stdout: the in-process handlers' logs belong in lambda-logs.jsonl.
        with Live(_progress_table(rows, progress), console=console, refresh_per_second=8,
                  redirect_stdout=False, redirect_stderr=False) as live:
            def on_state(arn: str, state: str, seconds: float) -> None:
                progress[arn] = (state, seconds)
                live.update(_progress_table(rows, progress))

            finished = wait_all(sandbox, [row["arn"] for row in rows], listener=on_state)
        results = [collect_result(sandbox, deployment, row["instance_id"], row["arn"], finished.get(row["arn"]))
                   for row in rows]
        args.output.mkdir(parents=True, exist_ok=True)
        for row, result in zip(rows, results, strict=True):
            row["result"] = result
            # The real guest's reboot is not scaled: its recovery time is wall-clock time.
            row["phases"] = phase_times(sandbox, row["arn"], 1.0 if args.kernel else args.time_scale)
            copy_artifacts(sandbox, result, args.output / f"{row['cast'].name}-{row['instance_id']}")
        (args.output / "records.json").write_text(json.dumps([r.record for r in results], indent=2, default=str))
        write_index(args.output, [(row["cast"].name, row["result"]) for row in rows])
        story = [line for row in rows for line in kernel_story(sandbox, row["instance_id"], row["result"].record)
                 ] if args.kernel else []
    console.print()
    console.print(_summary_table(rows))
    for line in _reasons(rows):
        console.print(line, highlight=False)
    for line in story:
        console.print(line, highlight=False)
    console.print(f"\nArtifacts and records: [bold]{args.output}/[/] (start with its README.md: console captures, "
                  f"dump manifests, triage reports; the Lambdas' Powertools logs in {lambda_logs.name}). "
                  f"Wall time {time.monotonic() - began:.1f} s.")
    return 0


def _launch_and_trigger(console: Console, sandbox: Sandbox, deployment: Deployment,
                        members: tuple[Cast, ...]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for cast in members:
        instance = sandbox.launch_instance(cast.spec)
        rows.append({"cast": cast, "instance_id": instance.instance_id})
        console.print(f"  launched {cast.name:<9} {instance.instance_id}  {cast.story}")
    manager = deployment.outputs["AlarmManagerFunctionName"]
    sandbox.client("lambda").invoke(FunctionName=manager, Payload=json.dumps({"action": "scan"}).encode())
    alarms = [a["AlarmName"] for a in sandbox.client("cloudwatch").describe_alarms(
        AlarmNamePrefix=deployment.outputs["AlarmNamePrefix"])["MetricAlarms"]]
    console.print(f"\nAlarm manager scanned the fleet and created {len(alarms)} status-check alarms.")
    for row in rows:
        member: Cast = row["cast"]
        if member.via_alarm:
            alarm = next(a for a in alarms if row["instance_id"] in a)
            row["arn"] = sandbox.set_alarm_state(alarm, "ALARM", "StatusCheckFailed_Instance >= 1 for 3 datapoints")[0]
            console.print(f"  {member.name:<9} alarm {alarm} -> ALARM -> EventBridge started the workflow")
        else:
            row["arn"] = sandbox.client("stepfunctions").start_execution(
                stateMachineArn=deployment.outputs["StateMachineArn"],
                name=f"{row['instance_id']}-manual",
                input=json.dumps({"instance_id": row["instance_id"], "reason": "operator: ssh hangs"}),
            )["executionArn"]
            console.print(f"  {member.name:<9} started by hand (StartExecution)")
    return rows


def _progress_table(rows: list[dict[str, Any]], progress: dict[str, tuple[str, float]]) -> Table:
    table = Table(title="Workflow progress (live)", expand=False)
    for column in ("instance", "current state", "elapsed"):
        table.add_column(column)
    for row in rows:
        state, seconds = progress.get(row["arn"], ("starting", 0.0))
        table.add_row(row["cast"].name, state, f"{seconds:5.1f} s")
    return table


def _summary_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Outcomes")
    for column in ("instance", "outcome", "to interrupt\n(wall)", "to recovery\n(simulated)", "dump"):
        table.add_column(column, no_wrap=column == "outcome")
    for row in rows:
        result, phases = row["result"], row["phases"]
        dump = next((a.bytes for a in result.artifacts if "/dump/" in a.s3_uri and not a.s3_uri.endswith(
            (".json", ".md", ".txt"))), None)
        color = COLORS.get(result.outcome, "yellow")
        table.add_row(f"{row['cast'].name}\n{row['instance_id']}", f"[{color}]{result.outcome}[/]",
                      _seconds(phases.get("interrupt"), 1), _seconds(phases.get("recovery"), 0),
                      f"{dump / 1048576:.1f} MiB" if dump else "-")
    return table


def _reasons(rows: list[dict[str, Any]]) -> list[str]:
    """The recorded reason of each outcome, one paragraph per instance (too long for a table cell)."""
    return [f"[bold]{row['cast'].name}[/]: {row['result'].reason}" for row in rows]


def _seconds(value: float | None, decimals: int) -> str:
    return "-" if value is None else f"{value:,.{decimals}f} s"
