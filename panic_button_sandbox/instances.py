"""Simulated EC2 instances: a hung kernel, the diagnostic interrupt, kdump, the reboot and the SSM agent.

An instance's health is derived from a few recorded moments (launch, interrupts, reboots) and the clock,
so no timer threads run and every reader sees a consistent state.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from panic_button_sandbox import console, crash_dumps
from panic_button_sandbox.console import CrashLayout

# Nominal seconds, divided by the sandbox's time_scale like every simulated duration.
RECOVERS_AFTER_SECONDS = 30.0  # recovers_before_interrupt: the hang clears this long after launch
DUMP_WRITTEN_AFTER_SECONDS = 2.0  # kdump names its folder a moment after the panic
BOOTING_SHARE = 0.2  # the last fifth of a reboot: kernel up, status checks "initializing"
# After a panic, the real kernel under QEMU (make test-kernel): kdump at work about 5 s after the NMI, and
# back (status checks OK, the agent pinging) about 15 s after "saving vmcore complete". The dump is written
# in between, at a steady rate, with makedumpfile's progress on the console.
CRASH_KERNEL_START_SECONDS = 5.0
RESTART_SECONDS = 15.0
NEVER_BACK_REBOOT_SECONDS = 60.0  # reboot_seconds None: the crash timeline of the default spec, never ready

InstanceStatus = Literal["ok", "impaired", "initializing", "not-applicable"]


class InstanceSpec(BaseModel):
    """What a simulated instance is and how it behaves when the workflow touches it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instance_type: str = "m5.large"
    platform: Literal["linux", "windows"] = "linux"
    tags: dict[str, str] = Field(default_factory=lambda: {"PanicButton": "enabled"})
    state: Literal["running", "stopped", "terminated"] = "running"
    impaired: bool = True
    """The instance status check is failing (a hung kernel) when the workflow starts."""
    recovers_before_interrupt: bool = False
    """The check turns OK by itself shortly after launch, before any interrupt."""
    on_interrupt: Literal["panic", "ignore"] = "panic"
    reboot_seconds: float | None = Field(default=60.0, ge=0)
    """How long panic, dump and reboot take (None: the instance never comes back)."""
    ssm_online_after_reboot: bool = True
    crash_layout: CrashLayout | None = None
    """Where the dump lands; None means the platform's default (rhel for linux, windows for windows)."""
    dump_bytes: int = Field(default=1024 * 1024, ge=0)
    files: dict[str, str] = Field(default_factory=dict)
    """Relative path -> text, written into the instance's filesystem root at launch."""
    backend: Literal["simulated", "qemu"] = "simulated"
    """qemu: a real Debian kernel under QEMU takes the interrupt (panic_button_sandbox/qemu/backend.py)."""
    hang: Literal["none", "fsfreeze-writer", "rt-spin", "hung-task-storm"] = "none"
    """The hang the kernel is in when the NMI comes. qemu (guest_init_first.sh), for real: writers in D state
    on a frozen filesystem, or SCHED_FIFO busy loops on every vCPU. Simulated: "hung-task-storm", database
    backends piling up behind a stuck journal until the kernel stops reporting them; "none" there is the
    journal flusher and one backend. For qemu "none" is armed and idle."""

    @field_validator("files")
    @classmethod
    def _relative_paths_only(cls, files: dict[str, str]) -> dict[str, str]:
        for name in files:
            path = PurePosixPath(name)
            if path.is_absolute() or ".." in path.parts:
                raise ValueError(f"files: {name!r} must be a relative path inside the instance root")
        return files

    @model_validator(mode="after")
    def _layout_fits_platform(self) -> InstanceSpec:
        layout = self.crash_layout
        if layout not in (None, "none") and (layout == "windows") != (self.platform == "windows"):
            raise ValueError(f"crash_layout {layout!r} does not fit platform {self.platform!r}")
        if self.backend == "qemu" and (self.platform != "linux" or layout not in (None, "debian")):
            raise ValueError("backend 'qemu' boots a Debian guest: platform linux, crash_layout debian")
        if self.hang in ("fsfreeze-writer", "rt-spin") and self.backend != "qemu":
            raise ValueError(f"hang {self.hang!r} needs backend 'qemu': only a real kernel can hang for real")
        if self.hang == "hung-task-storm" and self.backend == "qemu":
            raise ValueError("hang 'hung-task-storm' is a simulated kernel log; the qemu guest hangs for real")
        return self

    @property
    def layout(self) -> CrashLayout:
        if self.crash_layout is not None:
            return self.crash_layout
        return "windows" if self.platform == "windows" else "rhel"


@dataclass(frozen=True)
class Health:
    """What EC2 status checks and the SSM agent report at one moment."""

    instance_status: InstanceStatus
    impaired_since: datetime | None
    agent_online: bool
    last_ping: datetime


@dataclass(frozen=True)
class _Reboot:
    started_at: float
    ready_at: float | None  # None: never comes back
    saved_at: float | None = None  # after a panic: kdump has saved the dump and the instance restarts

    def booting_from(self) -> float | None:
        if self.ready_at is None:
            return None
        if self.saved_at is not None:  # the kernel is up halfway through the restart
            return (self.saved_at + self.ready_at) / 2
        return self.ready_at - BOOTING_SHARE * (self.ready_at - self.started_at)


@dataclass(frozen=True)
class CrashTimeline:
    """Nominal seconds from the panic: kdump starts writing, has saved the dump, the instance is back."""

    writing_from: float
    saved_at: float
    ready_at: float

    @classmethod
    def of(cls, reboot_seconds: float) -> CrashTimeline:
        start = min(CRASH_KERNEL_START_SECONDS, reboot_seconds / 4)
        restart = min(RESTART_SECONDS, reboot_seconds / 2)
        return cls(writing_from=start, saved_at=reboot_seconds - restart, ready_at=reboot_seconds)

    def percent_written(self, since_panic: float) -> float | None:
        """makedumpfile's progress at that moment, or None outside the write."""
        if not self.writing_from <= since_panic < self.saved_at:
            return None
        return 100 * (since_panic - self.writing_from) / (self.saved_at - self.writing_from)


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class SimulatedInstance:
    """One instance's simulated OS. Thread-safe: moto's request threads and tests share it."""

    def __init__(
        self,
        instance_id: str,
        spec: InstanceSpec,
        root: Path,
        time_scale: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.instance_id = instance_id
        self.spec = spec
        self.root = root
        self._time_scale = time_scale
        self._clock = clock
        self._lock = threading.Lock()
        self._launched_at = clock()
        self._last_ping = self._launched_at
        self._agent_dropped = False
        self._interrupts: list[float] = []
        self._reboots: list[_Reboot] = []
        self._crash: tuple[float, CrashTimeline] | None = None  # the last panic's moment and its kdump timeline
        # (posted_at, text): Latest=true console output shows what is posted by now.
        self._console: list[tuple[float, str]] = []
        # (taken_at, entry count): the buffered output EC2 keeps from each state transition.
        self._console_snapshots: list[tuple[float, int]] = []
        self._post_console(console.boot_log(spec.layout, spec.instance_type), self._launched_at, snapshot=True)
        if spec.impaired:
            self._post_console(console.hung_task_log(spec.layout, storm=spec.hang == "hung-task-storm"),
                               self._launched_at)
        root.mkdir(parents=True, exist_ok=True)
        crash_dumps.seed_filesystem(root, spec.layout)
        for relative, text in spec.files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    @property
    def platform_type(self) -> Literal["Linux", "Windows"]:
        return "Windows" if self.spec.platform == "windows" else "Linux"

    @property
    def interrupt_count(self) -> int:
        with self._lock:
            return len(self._interrupts)

    @property
    def interrupt_times(self) -> list[datetime]:
        with self._lock:
            return [_utc(moment) for moment in self._interrupts]

    def health(self) -> Health:
        with self._lock:
            return self._health(self._clock())

    def drop_agent(self) -> None:
        """The SSM agent loses its connection for good (PingStatus ConnectionLost from now on)."""
        self._agent_dropped = True

    def receive_interrupt(self) -> None:
        """A diagnostic interrupt (an unknown NMI) arrives: panic and dump, or shrug, per the spec."""
        with self._lock:
            now = self._clock()
            self._health(now)  # the agent's last ping is the moment before the crash
            self._interrupts.append(now)
            if self._rebooting(now) or self.spec.state != "running":
                return  # the kdump kernel or a stopped instance has nothing to say
            if self.spec.on_interrupt == "ignore":
                if self.spec.platform == "linux":
                    self._post_console(console.nmi_ignored_log(), now)
                return
            self._panic(now)

    def reboot(self) -> None:
        """RebootInstances: the OS restarts (a hung one included) and comes back after reboot_seconds."""
        with self._lock:
            now = self._clock()
            self._health(now)
            self._post_console(console.restart_log(self.spec.layout), now)
            self._start_reboot(now)

    def close(self) -> None:
        """Release what the instance holds outside this process; a simulated one holds nothing."""

    def console_output(self, latest: bool) -> str:
        """Latest: everything printed by now, makedumpfile's progress included while the dump is written;
        otherwise the buffer EC2 saved at the last transition."""
        with self._lock:
            now = self._clock()
            if latest:
                printed = "".join(text for posted_at, text in self._console if posted_at <= now)
                return printed + self._dump_progress(now)
            count = max(entries for taken_at, entries in self._console_snapshots if taken_at <= now)
            return "".join(text for _, text in self._console[:count])

    def _panic(self, now: float) -> None:
        layout = self.spec.layout
        # Dump folder names have whole seconds: round up so the name is never before the interrupt.
        dumped_at = _utc(math.ceil(now + DUMP_WRITTEN_AFTER_SECONDS / self._time_scale))
        panic_text = console.nmi_panic_log(layout, self.spec.instance_type)
        self._post_console(panic_text, now)
        # The dump's kernel log ends at the panic: the capture kernel's own lines are not in it.
        kernel_log = "".join(text for _, text in self._console)
        dump_dir = crash_dumps.dump_directory(layout, dumped_at, self.root)
        crash_dumps.write_crash_dump(self.root, layout, dumped_at, self.spec.dump_bytes, kernel_log)
        seconds = self.spec.reboot_seconds
        # An instance that never comes back still writes its dump (at the default reboot's pace) first.
        timeline = CrashTimeline.of(seconds if seconds is not None else NEVER_BACK_REBOOT_SECONDS)
        scale = self._time_scale
        kdump = dump_dir is not None and layout != "windows"  # Windows writes nothing to the serial console
        if kdump and dump_dir is not None:
            self._post_console(console.kdump_started_log(dump_dir), now + timeline.writing_from / scale)
            self._post_console(console.kdump_saved_log(), now + timeline.saved_at / scale)
        self._crash = (now, timeline) if kdump else None
        self._start_reboot(now, saved_at=now + timeline.saved_at / scale if kdump else None, crashed=True)

    def _dump_progress(self, now: float) -> str:
        if self._crash is None:
            return ""
        panicked_at, timeline = self._crash
        percent = timeline.percent_written((now - panicked_at) * self._time_scale)
        return "" if percent is None else console.copy_progress(percent)

    def _start_reboot(self, now: float, saved_at: float | None = None, crashed: bool = False) -> None:
        seconds = self.spec.reboot_seconds
        ready_at = None if seconds is None else now + seconds / self._time_scale
        if not crashed:
            self._crash = None  # a plain reboot (RebootInstances) ends a crash's progress
        self._reboots.append(_Reboot(started_at=now, ready_at=ready_at, saved_at=saved_at))
        if ready_at is not None:
            self._post_console(console.boot_log(self.spec.layout, self.spec.instance_type), ready_at, snapshot=True)

    def _post_console(self, text: str, posted_at: float, snapshot: bool = False) -> None:
        if text:
            self._console.append((posted_at, text))
        if snapshot:
            self._console_snapshots.append((posted_at, len(self._console)))

    def _rebooting(self, now: float) -> bool:
        if not self._reboots:
            return False
        ready_at = self._reboots[-1].ready_at
        return ready_at is None or now < ready_at

    def _health(self, now: float) -> Health:
        """Derive status checks and agent state at `now`; remembers the agent's last ping."""
        status, impaired_since, agent_online = self._status_at(now)
        agent_online = agent_online and not self._agent_dropped
        if agent_online:
            self._last_ping = now
        return Health(status, impaired_since, agent_online, _utc(self._last_ping))

    def _status_at(self, now: float) -> tuple[InstanceStatus, datetime | None, bool]:
        if self.spec.state != "running":
            return "not-applicable", None, False
        if self._reboots:
            return self._status_after_reboot(self._reboots[-1], now)
        recovered_at = self._launched_at + RECOVERS_AFTER_SECONDS / self._time_scale
        hung = self.spec.impaired and not (self.spec.recovers_before_interrupt and now >= recovered_at)
        return ("impaired", _utc(self._launched_at), False) if hung else ("ok", None, True)

    def _status_after_reboot(self, reboot: _Reboot, now: float) -> tuple[InstanceStatus, datetime | None, bool]:
        booting_from = reboot.booting_from()
        if booting_from is None or now < booting_from:
            return "impaired", _utc(reboot.started_at), False
        if reboot.ready_at is not None and now < reboot.ready_at:
            return "initializing", None, False
        return "ok", None, self.spec.ssm_online_after_reboot


class InstanceFleet:
    """The simulated instances of one sandbox; also counts interrupts sent to instances it does not simulate."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._instances: dict[str, SimulatedInstance] = {}
        self._unsimulated_interrupts: dict[str, int] = {}

    def add(self, instance: SimulatedInstance) -> None:
        with self._lock:
            self._instances[instance.instance_id] = instance

    def get(self, instance_id: str) -> SimulatedInstance | None:
        with self._lock:
            return self._instances.get(instance_id)

    def all(self) -> list[SimulatedInstance]:
        with self._lock:
            return list(self._instances.values())

    def deliver_interrupt(self, instance_id: str) -> None:
        instance = self.get(instance_id)
        if instance is not None:
            instance.receive_interrupt()
            return
        with self._lock:
            self._unsimulated_interrupts[instance_id] = self._unsimulated_interrupts.get(instance_id, 0) + 1

    def interrupt_count(self, instance_id: str) -> int:
        instance = self.get(instance_id)
        if instance is not None:
            return instance.interrupt_count
        with self._lock:
            return self._unsimulated_interrupts.get(instance_id, 0)
