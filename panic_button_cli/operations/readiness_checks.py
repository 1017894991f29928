"""What `panic-button readiness` concludes about an instance. Pure: no clients.

The readiness document prints `<check>=<ok|warn|fail> <detail>` lines, then `ready=yes|no` and `reasons=`
(infra/ssm/readiness.sh and readiness.ps1). The CLI adds its own findings in the same shape: opt-in, SSM
agent, interrupt support and racing alarms. Any fail makes the instance NOT READY."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

from panic_button.models.alarms import AlarmConflict
from pydantic import BaseModel, Field

CheckStatus = Literal["ok", "warn", "fail"]
_STATUSES: tuple[CheckStatus, ...] = ("ok", "warn", "fail")
_VERDICT_KEYS = {"ready", "reasons"}
# The document's step per SSM platform type: GetCommandInvocation needs the name of the step that ran.
READINESS_STEPS = {"Linux": "linuxReadiness", "Windows": "windowsReadiness"}


class Check(BaseModel):
    name: str
    status: CheckStatus
    detail: str

    @property
    def line(self) -> str:
        return f"{self.name}: {self.detail}"


class InstanceReadiness(BaseModel):
    instance_id: str
    name: str | None = None
    instance_type: str | None = None
    platform: str | None = None
    ready: bool
    reasons: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)


class FleetSummary(BaseModel):
    total: int
    ready: int
    not_ready: int
    failing_checks: dict[str, int] = Field(default_factory=dict)
    """How many instances fail each check, most common first."""


class ReadinessReport(BaseModel):
    summary: FleetSummary
    instances: list[InstanceReadiness]


@dataclass(frozen=True)
class ScriptOutput:
    """The parsed document output: its checks, and its verdict (None when the output has none)."""

    checks: list[Check]
    ready: bool | None


@dataclass(frozen=True)
class CommandOutcome:
    """How the readiness document ended on one instance (GetCommandInvocation's Status and streams)."""

    status: str
    stdout: str = ""
    stderr: str = ""


@dataclass(frozen=True)
class InstanceFacts:
    """What EC2 and SSM say about an instance before the document runs."""

    instance_id: str
    instance_type: str
    state: str
    opted_in: bool
    name: str | None = None
    agent_online: bool = False
    ping_status: str = "not managed"
    platform_type: str | None = None


def parse_output(text: str) -> ScriptOutput:
    """Check lines and the verdict; lines of any other shape (agent banners, stray output) are skipped."""
    checks: list[Check] = []
    ready: bool | None = None
    for line in text.splitlines():
        key, separator, value = line.strip().partition("=")
        if not separator or not key:
            continue
        if key in _VERDICT_KEYS:
            if key == "ready":
                ready = value.strip() == "yes"
            continue
        status, _, detail = value.partition(" ")
        if status in _STATUSES:
            checks.append(Check(name=key, status=status, detail=detail.strip()))
    return ScriptOutput(checks, ready)


def instance_findings(facts: InstanceFacts, opt_in_tag: str, support_problem: str | None,
                      conflicts: list[AlarmConflict]) -> list[Check]:
    """The CLI's own checks: opted in, running, managed by SSM, interrupt supported, no racing alarm."""
    checks = [
        Check(name="opted_in", status="ok", detail=opt_in_tag) if facts.opted_in else
        Check(name="opted_in", status="fail", detail=f"not tagged {opt_in_tag}: tag it to opt in"),
    ]
    if facts.state != "running":
        checks.append(Check(name="instance_state", status="fail", detail=f"instance is {facts.state}"))
    elif facts.agent_online:
        checks.append(Check(name="ssm_agent", status="ok", detail="online"))
    else:
        checks.append(Check(name="ssm_agent", status="fail",
                            detail=f"SSM agent not online ({facts.ping_status}): the dump cannot be collected"))
    checks.append(Check(name="interrupt_support", status="fail", detail=support_problem)
                  if support_problem else
                  Check(name="interrupt_support", status="ok", detail=f"{facts.instance_type} takes the interrupt"))
    for conflict in conflicts:
        actions = ", ".join(action.rsplit(":", 1)[-1] for action in conflict.actions)
        checks.append(Check(name="alarm_conflict", status="fail",
                            detail=f"alarm {conflict.alarm_name} on {conflict.metric_name} acts ({actions}) "
                                   "and races the rescue"))
    return checks


def script_findings(outcome: CommandOutcome | None) -> list[Check]:
    """The document's checks, or one failing check that says why there are none."""
    if outcome is None:
        return []
    parsed = parse_output(outcome.stdout)
    if parsed.ready is None:
        said = (outcome.stderr.strip().splitlines() or [""])[0][:200]
        return [*parsed.checks, Check(name="readiness_document", status="fail",
                                      detail=f"no verdict (command {outcome.status}){': ' + said if said else ''}")]
    if not parsed.ready and not any(check.status == "fail" for check in parsed.checks):
        return [*parsed.checks, Check(name="readiness_document", status="fail", detail="reported not ready")]
    return parsed.checks


def assess(facts: InstanceFacts, checks: list[Check]) -> InstanceReadiness:
    return InstanceReadiness(
        instance_id=facts.instance_id, name=facts.name, instance_type=facts.instance_type,
        platform=facts.platform_type, ready=not any(check.status == "fail" for check in checks),
        reasons=[check.line for check in checks if check.status == "fail"],
        warnings=[check.line for check in checks if check.status == "warn"],
        checks=checks,
    )


def fleet_report(instances: list[InstanceReadiness]) -> ReadinessReport:
    failing = Counter(name for instance in instances
                      for name in {check.name for check in instance.checks if check.status == "fail"})
    ready = sum(instance.ready for instance in instances)
    summary = FleetSummary(total=len(instances), ready=ready, not_ready=len(instances) - ready,
                           failing_checks=dict(failing.most_common()))
    return ReadinessReport(summary=summary, instances=sorted(instances, key=lambda i: (i.ready, i.instance_id)))
