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

from panic_button_cli.demo_kernel import KERNEL_CAST, KERNEL_REAL_AND_SIMULATED, kernel_story
from panic_button_cli.demo_output import phase_times, save_results
from panic_button_cli.demo_scenario import CAST, REAL_AND_SIMULATED, Cast
from panic_button_cli.fleet import launch_cast
from panic_button_cli.output_folder import OutputFolder
from panic_button_cli.sandbox_arguments import (
    DEFAULT_TIME_SCALE,
    KERNEL_TIME_SCALE,
    add_sandbox_arguments,
    check_cloud_assembly,
    checked_time_scale,
    report_sandbox_failure,
)
from panic_button_cli.sandbox_session import open_sandbox
from panic_button_cli.simulation import collect_result, wait_all
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.sandbox import Sandbox

# What the recovery column measures: simulated instances reboot in scaled time, shown unscaled; the real
# kernel reboots in real time while the polls between run scaled, so its column is plain wall time.
RECOVERY_CLOCK_SIMULATED = "simulated"
RECOVERY_CLOCK_KERNEL = "wall: real reboot,\nscaled polls"
COLORS = {"DUMP_COLLECTED": "green", "DRY_RUN": "green", "NOT_RECOVERED": "red", "COLLECTION_FAILED": "red",
          "WORKFLOW_FAILED": "red", "WORKFLOW_ABORTED": "red"}


DESCRIPTION = """Watch Panic Button rescue hung instances end to end in the local sandbox (moto on 127.0.0.1,
no AWS account): five simulated instances, or with --kernel one real Linux kernel under QEMU, go through
the synthesized stack's workflow; then the outcomes, the reasons and where the evidence was copied.
Exit code: 0 the demo ran, 2 bad input (checked before the sandbox starts), 3 the sandbox broke."""


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("demo", help="narrated rescue of simulated hung instances (no AWS needed)",
                                 description=DESCRIPTION,
                                 epilog="examples:\n  panic-button demo --output demo-output\n"
                                        "  panic-button demo --kernel                # make demo-kernel",
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path("demo-output"), metavar="DIR",
                        help="where artifacts, records and the Lambda logs are copied (default: %(default)s)")
    parser.add_argument("--kernel", action="store_true",
                        help="rescue one real Linux kernel under QEMU instead (make demo-kernel installs its packages)")
    add_sandbox_arguments(parser, f"{DEFAULT_TIME_SCALE:g}, with --kernel {KERNEL_TIME_SCALE:g}")
    parser.set_defaults(func=run, local=True)


def run(args: argparse.Namespace) -> int:
    # Checked before anything is printed or started: bad input is exit code 2, one line with the fix.
    time_scale = checked_time_scale(args.time_scale, real_kernel=args.kernel)
    check_cloud_assembly(args.cdk_out)
    output = OutputFolder(args.output, "panic-button demo")  # a rerun replaces what the last run wrote
    lambda_logs = args.output / "lambda-logs.jsonl"
    try:
        with output:
            return _narrate(args, time_scale, lambda_logs)
    except Exception as error:  # a broken sandbox is one line, not a traceback
        return report_sandbox_failure(error, lambda_logs)


def _narrate(args: argparse.Namespace, time_scale: float, lambda_logs: Path) -> int:
    console = Console(file=sys.stdout)  # bound now: the handlers' own logs go to a file below
    console.rule("[bold]Panic Button demo")
    cast = KERNEL_CAST if args.kernel else CAST
    console.print((KERNEL_REAL_AND_SIMULATED if args.kernel else REAL_AND_SIMULATED).format(scale=time_scale))
    began = time.monotonic()
    with lambda_logs.open("w") as log_file, contextlib.redirect_stdout(log_file), \
            tempfile.TemporaryDirectory(prefix="panic-button-demo-") as workdir, \
            open_sandbox(Path(workdir), args.cdk_out, time_scale) as (sandbox, deployment):
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
        for row, result in zip(rows, results, strict=True):
            row["result"] = result
            # The real guest's reboot is not scaled: its recovery time is wall-clock time.
            row["phases"] = phase_times(sandbox, row["arn"], 1.0 if args.kernel else time_scale)
        save_results(sandbox, args.output, [(row["cast"].name, row["result"]) for row in rows],
                     "Panic Button demo output")
        story = [line for row in rows for line in kernel_story(sandbox, row["instance_id"], row["result"].record)
                 ] if args.kernel else []
    console.print()
    console.print(_summary_table(rows, RECOVERY_CLOCK_KERNEL if args.kernel else RECOVERY_CLOCK_SIMULATED))
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
    launched, alarms = launch_cast(sandbox, deployment, members)
    rows: list[dict[str, Any]] = [{"cast": cast, "instance_id": instance_id} for cast, instance_id in launched]
    for cast, instance_id in launched:
        console.print(f"  launched {cast.name:<9} {instance_id}  {cast.story}")
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


def _summary_table(rows: list[dict[str, Any]], recovery_clock: str) -> Table:
    table = Table(title="Outcomes")
    for column in ("instance", "outcome", "to interrupt\n(wall)", f"to recovery\n({recovery_clock})", "dump"):
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
