"""What a run under faults must keep of the same run without: outcome, interrupts, artifacts, one record and
one notification per execution. Shared by the fault matrix in the suite and the longer one in `make bench`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from panic_button_cli.simulation import SimulationReport, simulate
from panic_button_sandbox.faults.injection import InjectedFault
from panic_button_sandbox.faults.service_errors import Kind
from panic_button_sandbox.faults.spec import FaultSpec
from panic_button_sandbox.instances import InstanceSpec
from tests.faults.conftest import Deployed, clear_rate_window
from tests.topic_subscriber import Topic

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
ALARM_EVENT = (EXAMPLES / "alarm-event.json").read_text()
HOSTILE = FaultSpec(throttle=0.3, error5xx=0.05)  # the bar
_CRASH_MINUTE = re.compile(r"20\d{10}")  # /var/crash/202612020049/dump.202612020049


@dataclass(frozen=True)
class Aimed:
    """A fault for the next call of one operation (Sandbox.faults.fail_next)."""

    operation: str
    kind: Kind
    applied: bool = False
    resource: str = ""


def example_specs() -> dict[str, InstanceSpec]:
    """Every instance spec in examples/ but the real kernel's (QEMU: tests/kernel)."""
    specs = {path.stem: InstanceSpec.model_validate_json(path.read_text())
             for path in sorted(EXAMPLES.glob("*.json")) if path.name != "alarm-event.json"}
    return {name: spec for name, spec in specs.items() if spec.backend == "simulated"}


def observed(deployed: Deployed, topic: Topic, spec: InstanceSpec, faults: FaultSpec,
             aimed: Sequence[Aimed] = ()) -> tuple[dict[str, Any], list[InjectedFault]]:
    """One alarm-triggered run of `spec` under `faults` and the `aimed` ones: what must not change, and the
    faults injected."""
    sandbox, deployment = deployed
    clear_rate_window(deployed)
    sandbox.use_faults(faults)
    for fault in aimed:
        sandbox.faults.fail_next(fault.operation, fault.kind, applied=fault.applied, resource=fault.resource)
    try:
        report = simulate(sandbox, deployment, spec, [("event", ALARM_EVENT)])
    finally:
        injected = list(sandbox.faults.injected)
        sandbox.use_faults(FaultSpec())
    return summary(report, topic), injected


def described(injected: list[InjectedFault]) -> str:
    return ", ".join(sorted({f"{f.code} on {f.service}:{f.operation}{' (applied)' if f.applied else ''} by {f.caller}"
                             for f in injected}))


def unsent_interrupt(injected: list[InjectedFault]) -> bool:
    """A 5xx on SendDiagnosticInterrupt before EC2 applied it: the one fault of the bar's spec that must change
    the outcome. Panic Button cannot tell it from one after, so it never resends (docs/simulation.md)."""
    return any(f.operation == "SendDiagnosticInterrupt" and not f.applied and f.code != "RequestLimitExceeded"
               for f in injected)


def lost_publish_answers(injected: list[InjectedFault]) -> int:
    """Publishes SNS delivered before their answer was lost: the step gives its claim back and a retry sends
    the message again, SNS's own at-least-once (docs/architecture.md#one-notification)."""
    return sum(1 for f in injected if f.operation == "Publish" and f.applied)


def departures(calm: dict[str, Any], hostile: dict[str, Any],
               injected: list[InjectedFault]) -> dict[str, tuple[Any, Any]]:
    """Where a hostile run departs from what the bar allows it given the faults it met, as (allowed, seen):
    the calm run, but for the two documented exceptions (an unsent interrupt, a lost publish answer)."""
    notifications = calm["notifications"] + lost_publish_answers(injected)
    allowed = ({"outcome": "NOT_RECOVERED", "interrupts": 0, "notifications": notifications}
               if unsent_interrupt(injected) else {**calm, "notifications": notifications})
    allowed.pop("execution_arn", None)
    return {name: (value, hostile[name]) for name, value in allowed.items() if hostile[name] != value}


def summary(report: SimulationReport, topic: Topic) -> dict[str, Any]:
    [result] = report.results  # simulate refuses an execution with two records
    assert result.execution_arn is not None
    prefix_end = f"/{result.execution_arn.rsplit(':', 1)[-1]}/"
    return {
        "execution_arn": result.execution_arn,  # what the runs compared differ in by nature
        "outcome": result.outcome,
        "status": result.status,
        "interrupt_sent": result.interrupt_sent,
        "interrupts": report.interrupts,
        # what was kept, relative to the execution's prefix; a dump's name holds the minute of its crash
        "artifacts": sorted(_CRASH_MINUTE.sub("<minute>", a.s3_uri.split(prefix_end, 1)[-1])
                            for a in result.artifacts),
        "notifications": len(topic.messages_about(result.execution_arn)),
    }
