"""Step 7: after the interrupt, wait until the instance is back and the SSM agent talks again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from panic_button.errors import AgentUnreachable, NotRecovered
from panic_button.logic.interrupt import instance_status
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


def check_recovery(ec2: Any, ssm: Any, *, instance_id: str, interrupted_at: datetime, attempt: int,
                   max_polls: int, now: datetime) -> Recovery:
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
    if attempt < max_polls:
        return Recovery(status="WAITING", attempt=attempt, detail=detail)
    waited = int((now - interrupted_at).total_seconds())
    if checks_ok:
        raise AgentUnreachable(f"{instance_id} is back but its SSM agent never came online ({detail}); "
                               f"waited {waited}s, the dump stays on the instance")
    raise NotRecovered(f"{instance_id} did not recover within {attempt} polls ({waited}s): {detail}")
