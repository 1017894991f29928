"""`panic-button sandbox`: keep a local sandbox running, with the stack deployed and a simulated hung fleet, so
`start`, `follow`, `history`, `readiness` and the AWS CLI can be tried on it through AWS_ENDPOINT_URL."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from panic_button_cli.demo_scenario import CAST, OPT_IN, Cast
from panic_button_cli.fleet import launch_cast
from panic_button_cli.operations.errors import OperatorError
from panic_button_cli.sandbox_arguments import (
    add_sandbox_arguments,
    check_cloud_assembly,
    checked_time_scale,
    report_sandbox_failure,
)
from panic_button_cli.sandbox_session import open_sandbox
from panic_button_sandbox.instances import InstanceSpec
from panic_button_sandbox.sandbox import Sandbox
from panic_button_sandbox.server import PortInUseError

# Slower than the demo's 100x: readiness's 120 s document timeout stays 6 s on a busy machine, and a
# rescue still ends in seconds. legacy-1's 20-minute recovery budget takes a minute.
SANDBOX_TIME_SCALE = 20.0
READY_LINE = "ready:"

# The demo's cast, hung and opted in (batch-1 is not), and one healthy instance readiness calls READY.
FLEET = (*CAST, Cast("app-1", "healthy Debian app server, kdump armed: what readiness calls READY",
                     InstanceSpec(tags={**OPT_IN, "Name": "app-1"}, impaired=False, crash_layout="debian",
                                  files={"sys/kernel/kexec_crash_size": "268435456\n",
                                         "proc/meminfo": "MemTotal:        1024 kB\n"})))


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "sandbox", help="keep a local sandbox with the stack and a simulated fleet running (no AWS needed)",
        description="Start the local sandbox (moto on 127.0.0.1) with the synthesized stack and a simulated fleet, "
                    "print the environment that points AWS SDKs and the AWS CLI at it, and run until Ctrl-C.\n"
                    "Exit code: 0 stopped by Ctrl-C or SIGTERM, 2 bad input (checked before the sandbox starts), "
                    "3 the sandbox broke.",
        epilog="example:\n  panic-button sandbox --port 5005\n"
               "  # in another terminal: the export line it prints, then\n"
               "  panic-button start <web-1's ID> --reason 'ssh hangs' --follow",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=_port, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--log-file", type=Path, default=Path(tempfile.gettempdir()) / "panic-button-sandbox.jsonl",
                        help="where the in-process Lambdas' Powertools logs go (default: %(default)s)")
    add_sandbox_arguments(parser, f"{SANDBOX_TIME_SCALE:g}")
    parser.set_defaults(func=run, local=True)


def run(args: argparse.Namespace) -> int:
    # Checked before the sandbox starts, as simulate and demo do: bad input is exit code 2, one line.
    time_scale = checked_time_scale(SANDBOX_TIME_SCALE if args.time_scale is None else args.time_scale,
                                    real_kernel=False)
    check_cloud_assembly(args.cdk_out)
    stop = threading.Event()
    # Both signals end the wait below, so the sandbox closes cleanly; the old handlers come back afterwards.
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _serve(args, time_scale, stop)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _serve(args: argparse.Namespace, time_scale: float, stop: threading.Event) -> int:
    out = sys.stdout  # bound now: the handlers' own logs go to the log file below
    try:
        with args.log_file.open("w") as lambda_logs, contextlib.redirect_stdout(lambda_logs), \
                tempfile.TemporaryDirectory(prefix="panic-button-sandbox-") as workdir, \
                open_sandbox(Path(workdir), args.cdk_out, time_scale, args.port) as (sandbox, deployment):
            launched, alarms = launch_cast(sandbox, deployment, FLEET)
            print(ready_message(sandbox, deployment.stack_name, launched, len(alarms), args.log_file),
                  file=out, flush=True)
            while not stop.wait(1.0):
                pass
            print("stopping the sandbox ...", file=out, flush=True)
    except PortInUseError as error:
        raise OperatorError(str(error.strerror), "pick another --port or omit it") from None
    except Exception as error:  # a broken sandbox is one line, not a traceback
        return report_sandbox_failure(error, args.log_file)
    print("sandbox stopped", file=out, flush=True)
    return 0


def export_line(environment: dict[str, str]) -> str:
    """The shell line that points boto3, the AWS CLI and `panic-button` at the sandbox (boto3 and the AWS
    CLI read the Region from AWS_DEFAULT_REGION, other SDKs from AWS_REGION: both are set)."""
    names = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION")
    return "export " + " ".join(f"{name}={environment[name]}" for name in names)


def ready_message(sandbox: Sandbox, stack: str, launched: list[tuple[Cast, str]], alarm_count: int,
                  log_file: Path) -> str:
    """The endpoint, the fleet, the lines to paste, and last the ready line a script can wait for."""
    environment, endpoint = sandbox.environment, sandbox.endpoint_url
    web = next(instance_id for cast, instance_id in launched if cast.name == "web-1")
    lines = [f"Panic Button sandbox on {endpoint}: stack {stack} deployed, every wait {sandbox.time_scale:g}x faster.",
             f"Simulated fleet (the alarm manager made {alarm_count} status-check alarms):"]
    lines += [f"  {cast.name:<9} {instance_id}  {cast.story}" for cast, instance_id in launched]
    lines += ["", "In another terminal (fake credentials: only the sandbox accepts them):",
              f"  {export_line(environment)}",
              "  unset AWS_PROFILE AWS_SESSION_TOKEN",
              f"  .venv/bin/panic-button start {web} --reason 'ssh hangs' --follow",
              "  .venv/bin/panic-button history",
              "  .venv/bin/panic-button readiness",
              "  aws stepfunctions list-executions --state-machine-arn \"$(aws cloudformation describe-stacks "
              f"--stack-name {stack} --query \"Stacks[0].Outputs[?OutputKey=='StateMachineArn'].OutputValue\" "
              "--output text)\"",
              "", f"The Lambdas log to {log_file}. Ctrl-C (or SIGTERM) stops the sandbox.",
              f"{READY_LINE} {endpoint}"]
    return "\n".join(lines)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError("must be from 0 (a free port) to 65535")
    return port
