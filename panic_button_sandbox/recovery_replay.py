"""The recovery loop's polls against a simulated instance on a clock of its own: the real decision
(`next_recovery`, from what the console and the status checks say) at each poll, the instance's crash
timeline at AWS-like seconds, and no Step Functions in between. The overhead model charges these polls, and
tests pin the schedule for reboots of any length without waiting for one."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from panic_button.errors import AgentUnreachable, NotRecovered
from panic_button.logic.recovery import Observed, RecoveryBudget, next_recovery
from panic_button.logic.serial_console import after_the_nmi, crash_kernel
from panic_button.models.state import Recovery

from panic_button_sandbox.instances import InstanceSpec, SimulatedInstance

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Poll:
    at: float  # seconds after the interrupt
    recovery: Recovery | None  # None: the poll that ran out of time


def replay_recovery(reboot_seconds: float | None, budget: RecoveryBudget, *,
                    poll_seconds: float = 0.0) -> list[Poll]:
    """Every poll from the interrupt until recovered or out of time. `poll_seconds`: what each poll itself
    takes (the Lambda, its API calls, the transitions), on top of the waits it chooses."""
    clock = [0.0]
    with tempfile.TemporaryDirectory(prefix="recovery-replay-") as root:
        instance = SimulatedInstance("i-0replay", InstanceSpec(reboot_seconds=reboot_seconds, dump_bytes=4096),
                                     Path(root), time_scale=1.0, clock=lambda: clock[0])
        instance.receive_interrupt()
        polls: list[Poll] = []
        previous: Recovery | None = None
        while True:
            health = instance.health()
            checks_ok = health.instance_status == "ok"
            observed = Observed(checks_ok, checks_ok and health.agent_online, f"status {health.instance_status}",
                                crash_kernel=lambda: crash_kernel(instance.console_output(latest=True)),
                                console_says=lambda: after_the_nmi(instance.console_output(latest=True)))
            try:
                previous = next_recovery(observed, instance_id=instance.instance_id, previous=previous,
                                         budget=budget, now=_EPOCH + timedelta(seconds=clock[0]))
            except (NotRecovered, AgentUnreachable):
                polls.append(Poll(clock[0], None))
                return polls
            polls.append(Poll(clock[0], previous))
            if previous.status == "RECOVERED":
                return polls
            clock[0] += previous.next_poll_seconds + poll_seconds
