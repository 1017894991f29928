"""Step 7: after the interrupt, wait until the instance is back and the SSM agent talks again."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from panic_button.aws import error_code
from panic_button.errors import AgentUnreachable, NotRecovered
from panic_button.logic.interrupt import instance_status
from panic_button.logic.serial_console import CrashKernel, after_the_nmi, crash_kernel, read_console
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


# The crash kernel's timeline (the real kernel under QEMU: about 5 s from the NMI to kdump at work, and
# 15 s from "saving vmcore complete" to an SSM ping). Polls fit it: none wasted while the dump is written,
# a tight interval once the instance should be back.
CRASH_KERNEL_BOOT_SECONDS = 10  # the first look after the NMI, or a second progress sample
RESTART_SECONDS = 15  # "saving vmcore complete" -> status checks OK and the agent online
TIGHT_POLL_SECONDS = 5
# makedumpfile shows tenths of a percent: a rate measured over at least 1 % of the dump is within 10 %.
MIN_PROGRESS_FOR_RATE = 1.0
# A write further off than this is sampled again at 90 % of its estimate, over the whole write so far,
# so a long dump's estimate never overshoots: the last wait is then short and accurate.
RESAMPLE_BEYOND_SECONDS = 120


@dataclass(frozen=True)
class RecoveryBudget:
    timeout_seconds: int
    poll_interval_seconds: int  # when the console tells nothing (Windows, or no kdump lines)
    platform: Literal["linux", "windows"] = "linux"

    def describe(self) -> str:
        span = (f"{self.timeout_seconds // 60} min" if self.timeout_seconds % 60 == 0
                else f"{self.timeout_seconds} s")
        return f"{span} recovery timeout"


@dataclass(frozen=True)
class Observed:
    """What one poll saw: the status checks, the agent, in words; and, read only if needed, the console."""

    checks_ok: bool
    agent_ok: bool
    detail: str
    crash_kernel: Callable[[], CrashKernel]
    console_says: Callable[[], str]  # the NOT_RECOVERED reason's account of the console


def check_recovery(ec2: Any, ssm: Any, *, instance_id: str, interrupted_at: datetime, previous: Recovery | None,
                   budget: RecoveryBudget, now: datetime) -> Recovery:
    """One poll, right after the interrupt and then after the wait the previous poll chose."""
    status = instance_status(ec2, instance_id)
    checks_ok = status["state"] == "running" and status["instance"] == "ok" and status["system"] == "ok"
    if checks_ok:
        agent_ok, agent_detail = agent_ping_after(ssm, instance_id, interrupted_at)
        detail = agent_detail if agent_ok else f"status checks OK, {agent_detail}"
    else:
        agent_ok = False
        detail = f"state {status['state']}, instance check {status['instance']}, system check {status['system']}"
    return next_recovery(Observed(checks_ok, agent_ok, detail,
                                  crash_kernel=lambda: _crash_kernel(ec2, instance_id, budget.platform),
                                  console_says=lambda: _console_says(ec2, instance_id, budget.platform)),
                         instance_id=instance_id, previous=previous, budget=budget, now=now)


def next_recovery(observed: Observed, *, instance_id: str, previous: Recovery | None, budget: RecoveryBudget,
                  now: datetime) -> Recovery:
    """The poll's verdict: recovered, out of time (the error names the outcome), or when to look again. Time is
    counted in the waits the workflow was asked for (what AWS takes; the sandbox runs them faster)."""
    attempt = (previous.attempt if previous else 0) + 1
    waited = previous.waited_seconds + previous.next_poll_seconds if previous else 0
    if observed.checks_ok and observed.agent_ok:
        return Recovery(status="RECOVERED", attempt=attempt, recovered_at=now, detail=observed.detail,
                        waited_seconds=waited)
    if waited >= budget.timeout_seconds:
        polls = f"{attempt} polls over {waited} s"
        if observed.checks_ok:
            raise AgentUnreachable(f"{instance_id} is back but its SSM agent did not come online within the "
                                   f"{budget.describe()} ({polls}; {observed.detail}); the dump stays on the instance")
        raise NotRecovered(f"{instance_id} did not come back within the {budget.describe()} ({polls}): "
                           f"{observed.detail}; console: {observed.console_says()}")
    kernel = CrashKernel("unknown") if observed.checks_ok else observed.crash_kernel()
    wait, until_back = next_poll_seconds(kernel, previous, waited, budget, checks_ok=observed.checks_ok)
    stage = f"; crash kernel {kernel.stage}" + (f" {kernel.percent:g} %" if kernel.percent is not None else "")
    baseline = _baseline(kernel, previous, waited)
    return Recovery(status="WAITING", attempt=attempt, detail=observed.detail + stage, waited_seconds=waited,
                    next_poll_seconds=wait, until_back=until_back, stage=kernel.stage, percent=kernel.percent,
                    stage_seen_at=previous.stage_seen_at if previous and previous.stage == kernel.stage else waited,
                    baseline_percent=baseline[0] if baseline else None,
                    baseline_waited=baseline[1] if baseline else None)


def next_poll_seconds(kernel: CrashKernel, previous: Recovery | None, waited: int, budget: RecoveryBudget, *,
                      checks_ok: bool = False) -> tuple[int, bool]:
    """How long to wait before the next poll, from what the console says, and whether that is when the
    instance should be back; never past the timeout, so the last poll falls on it."""
    eta = _write_eta(kernel, previous, waited)
    until_back = False
    if checks_ok:  # up, the agent not yet: it pings within seconds
        wait = TIGHT_POLL_SECONDS
    elif kernel.stage == "saved":  # restarting: back within RESTART_SECONDS of the save
        saved_for = waited - previous.stage_seen_at if previous is not None and previous.stage == "saved" else 0
        settled = previous is not None and (previous.stage == "saved" or previous.until_back)
        if not settled:
            wait = RESTART_SECONDS
        elif saved_for <= 2 * RESTART_SECONDS:
            wait = TIGHT_POLL_SECONDS
        else:  # long overdue: it may never come back, and the timeout decides
            wait = budget.poll_interval_seconds
    elif eta is not None and eta > RESAMPLE_BEYOND_SECONDS:
        wait = math.floor(0.9 * eta)
    elif eta is not None:  # written in `eta`, restarted: a tight poll later it is back, and one poll sees it
        wait, until_back = eta + RESTART_SECONDS + TIGHT_POLL_SECONDS, True
    elif kernel.stage == "panicked" or previous is None:  # kdump is about to start
        wait = CRASH_KERNEL_BOOT_SECONDS
    elif kernel.stage == "writing" and kernel.percent is not None and previous.stage != "writing":
        wait = CRASH_KERNEL_BOOT_SECONDS  # a second progress sample gives the write's rate
    else:  # the console tells nothing more (Windows, no progress shown, or none since the last poll)
        wait = budget.poll_interval_seconds
    return min(max(wait, TIGHT_POLL_SECONDS), budget.timeout_seconds - waited), until_back


def _baseline(kernel: CrashKernel, previous: Recovery | None, waited: int) -> tuple[float, int] | None:
    """The first progress sample of this write: the longest span to measure its rate over."""
    if kernel.stage != "writing" or kernel.percent is None:
        return None
    if previous is not None and previous.stage == "writing" and previous.baseline_percent is not None \
            and previous.baseline_waited is not None and previous.baseline_percent <= kernel.percent:
        return previous.baseline_percent, previous.baseline_waited
    return kernel.percent, waited


def _write_eta(kernel: CrashKernel, previous: Recovery | None, waited: int) -> int | None:
    """Seconds until makedumpfile is done, at the rate it has written since its first sample."""
    baseline = _baseline(kernel, previous, waited)
    if baseline is None or kernel.percent is None:
        return None
    progress, span = kernel.percent - baseline[0], waited - baseline[1]
    if progress < MIN_PROGRESS_FOR_RATE or span <= 0:
        return None
    return math.ceil((100 - kernel.percent) * span / progress)


def _crash_kernel(ec2: Any, instance_id: str, platform: Literal["linux", "windows"]) -> CrashKernel:
    if platform == "windows":  # Windows writes nothing to the serial console
        return CrashKernel("unknown")
    try:
        return crash_kernel(read_console(ec2, instance_id))
    except Exception:  # the console only schedules the next poll; it must never fail one ("unknown": the interval)
        return CrashKernel("unknown")


def _console_says(ec2: Any, instance_id: str, platform: Literal["linux", "windows"]) -> str:
    if platform == "windows":
        return "Windows writes nothing to the serial console; the screenshot in the evidence shows its screen"
    try:
        return after_the_nmi(read_console(ec2, instance_id))
    except Exception as error:  # the verdict only explains; it must never change the outcome
        return f"unavailable ({error_code(error) or type(error).__name__})"
