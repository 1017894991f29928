"""Argument handling and output of `panic-button simulate` (the contract is in docs/simulation.md)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from panic_button_cli.sandbox_session import DEFAULT_TIME_SCALE, open_sandbox
from panic_button_cli.simulation import SimulationReport, simulate
from panic_button_sandbox.instances import InstanceSpec

EPILOG = """examples:
  panic-button simulate --instance examples/linux.json --event examples/alarm-event.json
  panic-button simulate --instance examples/linux.json --input '{"instance_id": "${INSTANCE_ID}", "dry_run": true}'
  panic-button simulate --instance examples/linux.json --input '{"instance_id": "${INSTANCE_ID}"}' \\
                        --input '{"instance_id": "${INSTANCE_ID}"}' --json     # two racing triggers
  (more specs in examples/README.md)

instance spec (JSON, unknown fields are an error): instance_type, platform (linux|windows), tags, state,
impaired, recovers_before_interrupt, on_interrupt (panic|ignore), reboot_seconds (null: never back),
ssm_online_after_reboot, crash_layout (rhel|amazon-linux|debian|ubuntu|windows|none), dump_bytes, files,
backend (simulated|qemu: a real Debian kernel under QEMU; use --time-scale 10).
"""

EXIT_USAGE, EXIT_SANDBOX = 2, 3


class _AppendTrigger(argparse.Action):
    """--event and --input share one ordered list: results come back in the order given."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        triggers = list(getattr(namespace, "triggers", None) or [])
        triggers.append(("event" if option_string == "--event" else "input", str(values)))
        namespace.triggers = triggers


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "simulate", help="run triggers against one simulated instance in the sandbox", epilog=EPILOG,
        description="Start the local sandbox (moto on 127.0.0.1) with the synthesized stack, launch one simulated "
                    "instance, fire the triggers at it, and report what the workflow did. Contract: docs/simulation.md",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instance", required=True, type=Path, metavar="SPEC.json", help="instance spec file")
    parser.add_argument("--event", action=_AppendTrigger, dest="triggers", metavar="EVENT.json",
                        help="an EventBridge event file; it goes through the deployed rule's pattern first")
    parser.add_argument("--input", action=_AppendTrigger, dest="triggers", metavar="JSON",
                        help="a manual execution input")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--log-file", type=Path, default=Path(tempfile.gettempdir()) / "panic-button-simulate.jsonl",
                        help="where the in-process Lambdas' Powertools logs go (default: %(default)s)")
    parser.add_argument("--time-scale", type=_positive, default=DEFAULT_TIME_SCALE,
                        help=f"simulated seconds per real second (default {DEFAULT_TIME_SCALE:g})")
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"), help="synthesized cloud assembly")
    parser.set_defaults(func=run, local=True, triggers=[])


def run(args: argparse.Namespace) -> int:
    try:
        spec = _read_spec(args.instance)
        triggers = [(kind, _read_trigger(kind, value)) for kind, value in args.triggers]
    except UsageError as error:
        return _fail(EXIT_USAGE, str(error))
    if not triggers:
        return _fail(EXIT_USAGE, "give at least one --event FILE or --input JSON")
    try:
        # The handlers run in this process and log to stdout, as on Lambda: their logs go to a file, so
        # stdout keeps the result and stderr the one-line errors.
        with args.log_file.open("w") as lambda_logs, contextlib.redirect_stdout(lambda_logs), \
                tempfile.TemporaryDirectory(prefix="panic-button-sim-") as workdir, \
                open_sandbox(Path(workdir), args.cdk_out, args.time_scale) as (sandbox, deployment):
            report = simulate(sandbox, deployment, spec, triggers)
    except Exception as error:  # a broken sandbox is one line, not a traceback
        return _fail(EXIT_SANDBOX, f"sandbox failed: {_one_line(error)} (Lambda logs: {args.log_file})")
    print(report.model_dump_json(indent=2, exclude={"results": {"__all__": {"record"}}})
          if args.json else _human(report))
    return 0


def _human(report: SimulationReport) -> str:
    lines = []
    for number, result in enumerate(report.results, start=1):
        lines.append(f"[{number}] {result.outcome:<24} {result.instance_id}  {result.reason}")
        lines += [f"      {a.s3_uri} ({a.bytes} bytes)" for a in result.artifacts]
    lines.append(f"SendDiagnosticInterrupt calls received: {report.interrupts}")
    return "\n".join(lines)


class UsageError(ValueError):
    """Bad arguments: one line that names the argument and the fix."""


def _read_spec(path: Path) -> InstanceSpec:
    try:
        text = path.read_text()
    except OSError as error:
        raise UsageError(f"--instance {path}: {error.strerror or error}") from None
    try:
        return InstanceSpec.model_validate_json(text)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        if problem["type"] == "extra_forbidden":
            allowed = ", ".join(InstanceSpec.model_fields)
            raise UsageError(f"--instance {path}: unknown field {where!r} (allowed: {allowed})") from None
        raise UsageError(f"--instance {path}: {where + ': ' if where else ''}{problem['msg']}") from None


def _read_trigger(kind: str, value: str) -> str:
    if kind == "event":
        try:
            text = Path(value).read_text()
        except OSError as error:
            raise UsageError(f"--event {value}: {error.strerror or error}") from None
    else:
        text = value
    try:
        json.loads(text.replace("${INSTANCE_ID}", "i-00000000"))
    except ValueError as error:
        shown = value if kind == "event" else "JSON"
        raise UsageError(f"--{kind} {shown} is not JSON: {error}") from None
    return text


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if number <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return number


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def _fail(code: int, message: str) -> int:
    print(f"panic-button simulate: {message}", file=sys.stderr)
    return code
