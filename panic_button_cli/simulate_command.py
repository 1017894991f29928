"""Argument handling and output of `panic-button simulate` (the contract is in docs/simulation.md)."""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from panic_button_cli.demo_output import save_results
from panic_button_cli.operations.errors import OperatorError
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
from panic_button_cli.simulation import INSTANCE_PLACEHOLDER, SimulationReport, simulate
from panic_button_sandbox.faults.spec import FaultSpec, FaultSpecError, parse_fault_spec
from panic_button_sandbox.instances import InstanceSpec

EPILOG = """examples:
  panic-button simulate --instance examples/linux.json --event examples/alarm-event.json
  panic-button simulate --instance examples/linux.json --input '{"instance_id": "${INSTANCE_ID}", "dry_run": true}'
  panic-button simulate --instance examples/linux.json --input '{"instance_id": "${INSTANCE_ID}"}' \\
                        --input '{"instance_id": "${INSTANCE_ID}"}' --json     # two racing triggers
  panic-button simulate --instance examples/linux.json --event examples/alarm-event.json \\
                        --faults throttle=0.3,error5xx=0.05 --seed 7     # a hostile AWS, reproducibly
  (more specs in examples/README.md)

instance spec (JSON, unknown fields are an error): instance_type, platform (linux|windows), tags, state,
impaired, recovers_before_interrupt, on_interrupt (panic|ignore), reboot_seconds (null: never back),
ssm_online_after_reboot, crash_layout (rhel|amazon-linux|debian|ubuntu|windows|none), dump_bytes, files,
backend (simulated|qemu: a real Debian kernel under QEMU; the time scale then defaults to 10).

exit code: 0 the runs completed (whatever their outcome), 2 bad input (checked before the sandbox starts),
3 the sandbox broke.
"""

# TestEventPattern fills in the rest of the envelope (id, account, time, region, resources); these it cannot.
EVENT_FIELDS = ("source", "detail-type")


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
    parser.add_argument("--output", type=Path, metavar="DIR",
                        help="keep the artifacts and records here, as the demo does (the sandbox's S3 goes away)")
    parser.add_argument("--log-file", type=Path, default=Path(tempfile.gettempdir()) / "panic-button-simulate.jsonl",
                        help="where the in-process Lambdas' Powertools logs go (default: %(default)s)")
    parser.add_argument("--faults", metavar="SPEC",
                        help="inject faults into every AWS call the stack makes, e.g. throttle=0.3,error5xx=0.05 "
                             "(also lambda=P, s3-part=P, ssm-offline-at=upload; docs/simulation.md)")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="the faults' seed: the same seed injects the same faults (default: %(default)s)")
    add_sandbox_arguments(parser, f"{DEFAULT_TIME_SCALE:g}, with a qemu instance {KERNEL_TIME_SCALE:g}")
    parser.set_defaults(func=run, local=True, triggers=[])


def run(args: argparse.Namespace) -> int:
    # Every input is checked before the sandbox starts: bad input is exit code 2, not a broken sandbox.
    spec = _read_spec(args.instance)
    triggers = [(kind, _read_trigger(kind, value)) for kind, value in args.triggers]
    if not triggers:
        raise OperatorError("no trigger given", "pass at least one --event FILE or --input JSON")
    time_scale = checked_time_scale(args.time_scale, real_kernel=spec.backend == "qemu")
    faults = _read_faults(args.faults, args.seed)
    check_cloud_assembly(args.cdk_out)
    output = OutputFolder(args.output, "panic-button simulate") if args.output else contextlib.nullcontext()
    saved: dict[str, Path] = {}
    try:
        # The handlers run in this process and log to stdout, as on Lambda: their logs go to a file, so
        # stdout keeps the result and stderr the one-line errors.
        with output, args.log_file.open("w") as lambda_logs, contextlib.redirect_stdout(lambda_logs), \
                tempfile.TemporaryDirectory(prefix="panic-button-sim-") as workdir, \
                open_sandbox(Path(workdir), args.cdk_out, time_scale, faults=faults) as (sandbox, deployment):
            report = simulate(sandbox, deployment, spec, triggers)
            if args.output:
                saved = save_results(sandbox, args.output, [(f"trigger-{number}", result) for number, result
                                                            in enumerate(report.results, start=1)],
                                     "Panic Button simulate output")
    except Exception as error:  # a broken sandbox is one line, not a traceback
        return report_sandbox_failure(error, args.log_file)
    print(report.model_dump_json(indent=2, exclude={"results": {"__all__": {"record"}}})
          if args.json else _human(report, saved))
    if args.output and not args.json:
        print(f"Artifacts and records: {args.output}/ (start with its README.md)")
    return 0


def _human(report: SimulationReport, saved: dict[str, Path]) -> str:
    lines = []
    for number, result in enumerate(report.results, start=1):
        lines.append(f"[{number}] {result.outcome:<24} {result.instance_id}  {result.reason}")
        lines += [f"      {saved.get(a.s3_uri, a.s3_uri)} ({a.bytes} bytes)" for a in result.artifacts]
    lines.append(f"SendDiagnosticInterrupt calls received: {report.interrupts}")
    return "\n".join(lines)


def _read_faults(text: str | None, seed: int) -> FaultSpec | None:
    if text is None:
        return None
    try:
        return parse_fault_spec(text, seed=seed)
    except FaultSpecError as error:
        raise OperatorError(f"--faults {text}: {error}", "e.g. --faults throttle=0.3,error5xx=0.05") from None


def _read_spec(path: Path) -> InstanceSpec:
    try:
        text = path.read_text()
    except OSError as error:
        raise OperatorError(f"--instance {path}: {error.strerror or error}") from None
    try:
        return InstanceSpec.model_validate_json(text)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        if problem["type"] == "extra_forbidden":
            allowed = ", ".join(InstanceSpec.model_fields)
            raise OperatorError(f"--instance {path}: unknown field {where!r} (allowed: {allowed})") from None
        raise OperatorError(f"--instance {path}: {where + ': ' if where else ''}{problem['msg']}") from None


def _read_trigger(kind: str, value: str) -> str:
    if kind == "event":
        try:
            text = Path(value).read_text()
        except OSError as error:
            raise OperatorError(f"--event {value}: {error.strerror or error}") from None
    else:
        text = value
    shown = value if kind == "event" else "JSON"
    try:
        document = json.loads(text.replace(INSTANCE_PLACEHOLDER, "i-00000000"))
    except ValueError as error:
        raise OperatorError(f"--{kind} {shown} is not JSON: {error}") from None
    if kind == "event":
        _check_event(value, document)
    return text


def _check_event(path: str, event: Any) -> None:
    """What EventBridge needs of an event before its rule's pattern can be tested at all."""
    fix = "start from examples/alarm-event.json"
    if not isinstance(event, dict):
        raise OperatorError(f"--event {path}: not a JSON object", fix)
    missing = [name for name in EVENT_FIELDS if not isinstance(event.get(name), str) or not event[name]]
    if missing:
        raise OperatorError(f"--event {path}: no {' or '.join(repr(name) for name in missing)}", fix)
    if not isinstance(event.get("detail", {}), dict):
        raise OperatorError(f"--event {path}: 'detail' is not an object", fix)
    resources = event.get("resources", [])
    if not isinstance(resources, list) or not all(isinstance(item, str) for item in resources):
        raise OperatorError(f"--event {path}: 'resources' is not a list of ARNs", fix)
    if "time" in event:
        try:
            datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
        except ValueError:
            raise OperatorError(f"--event {path}: 'time' {event['time']!r} is not an ISO 8601 time", fix) from None
