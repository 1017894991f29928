"""Step 7: after the interrupt, wait until the instance is back and the SSM agent talks again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from panic_button.aws import error_code
from panic_button.errors import AgentUnreachable, NotRecovered
from panic_button.logic.interrupt import instance_status
from panic_button.logic.serial_console import after_the_nmi, read_console
from panic_button.models.state import Recovery


def agent_ping_after(ssm: Any, instance_id: str, moment: datetime) -> tuple[bool, str]:
    """Is the SSM agent Online with a ping newer than `moment`? The ping before the crash doesn't count."""
    info = ssm.describe_instance_information(
        Filters=[{"Key": "InstanceIds", "Values": [instance_id]}]
    )["InstanceInformationList"]
    if not info:
        return False, "SSM agent not registered"
    ping_status = info[0].get("PingStatus", "Unknown")
    last_ping = info[0].get("LastPingDateTime")
    if ping_status != "Online":
        return False, f"SSM agent {ping_status}"
    if last_ping is None or last_ping <= moment:
        return False, "SSM agent has not pinged since the interrupt"
    return True, "SSM agent online"


@dataclass(frozen=True)
class RecoveryBudget:
    max_polls: int
    poll_interval_seconds: int
    platform: Literal["linux", "windows"] = "linux"

    def describe(self) -> str:
        seconds = self.max_polls * self.poll_interval_seconds
        span = f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"
        return f"{span} recovery timeout ({self.max_polls} polls {self.poll_interval_seconds} s apart)"


def check_recovery(ec2: Any, ssm: Any, *, instance_id: str, interrupted_at: datetime, attempt: int,
                   budget: RecoveryBudget, now: datetime) -> Recovery:
    attempt += 1
    status = instance_status(ec2, instance_id)
    checks_ok = status["state"] == "running" and status["instance"] == "ok" and status["system"] == "ok"
    if checks_ok:
        agent_ok, agent_detail = agent_ping_after(ssm, instance_id, interrupted_at)
        if agent_ok:
            return Recovery(status="RECOVERED", attempt=attempt, recovered_at=now, detail=agent_detail)
        detail = f"status checks OK, {agent_detail}"
    else:
        detail = f"state {status['state']}, instance check {status['instance']}, system check {status['system']}"
    if attempt < budget.max_polls:
        return Recovery(status="WAITING", attempt=attempt, detail=detail)
    # Reasons speak in the configured time, which is what AWS takes; wall time differs in the sandbox.
    if checks_ok:
        raise AgentUnreachable(f"{instance_id} is back but its SSM agent did not come online within the "
                               f"{budget.describe()} ({detail}); the dump stays on the instance")
    raise NotRecovered(f"{instance_id} did not come back within the {budget.describe()}: {detail}; "
                       f"console: {_console_says(ec2, instance_id, budget.platform)}")


def _console_says(ec2: Any, instance_id: str, platform: Literal["linux", "windows"]) -> str:
    if platform == "windows":
        return "Windows writes nothing to the serial console; the screenshot in the evidence shows its screen"
    try:
        return after_the_nmi(read_console(ec2, instance_id))
    except Exception as error:  # the verdict only explains; it must never change the outcome
        return f"unavailable ({error_code(error) or type(error).__name__})"
