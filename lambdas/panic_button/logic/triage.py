"""Triage a kernel log: why did the kernel panic, and what was wrong before it did?

One pass over the lines in linear time: each line is cut to a bounded length, matched by anchored
patterns (kernel_log_patterns), and fed to a small state machine that ties each call trace to the event
printed just above it (hung task, lockup, RCU stall, OOM kill, BUG/WARNING, panic).
"""

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from panic_button.logic import kernel_log_patterns as kp
from panic_button.logic.triage_report import clip, render_markdown, summary_lines
from panic_button.models.triage import (
    MAX_EVENTS_PER_KIND,
    CallTrace,
    Finding,
    FindingKind,
    HungTask,
    Lockup,
    OomKill,
    PanicCause,
    RcuStall,
    TriageEvent,
    TriageReport,
)

MAX_LINE_CHARS = 2048  # printk lines are under 1 KiB; longer ones are garbage or glued lines
TOP_FRAMES_PER_STACK = 8
LAST_LINES = 20
TRACE_WINDOW_LINES = 60  # how far below its event (or "CPU: ..." line) a "Call Trace:" may start
RCU_DETAIL_WINDOW_LINES = 40
MAX_OTHER_TRACES = 20

_Event = TriageEvent
_E = TypeVar("_E", HungTask, Lockup, RcuStall, OomKill, Finding)


@dataclass
class _Mark:
    """A line the next call trace may belong to."""

    line_number: int
    label: str
    assign: Callable[[CallTrace], None] | None = None  # None: drop the trace (the event has one)


class _Scanner:
    def __init__(self) -> None:
        self.report = TriageReport()
        self._tail: deque[str] = deque(maxlen=LAST_LINES)
        self._block: kp.TraceBlock | None = None
        self._block_owner: _Mark | None = None
        self._block_task: str | None = None
        self._owner: _Mark | None = None  # the latest event or "NMI backtrace for cpu N" line
        self._task: _Mark | None = None  # the latest "CPU: ..." or "task:..." line
        self._rip: _Mark | None = None  # a "RIP:" printed by show_regs() above the trace
        self._rcu_stall: RcuStall | None = None
        self._pending_oom: OomKill | None = None
        self._seen: dict[str, _Event] = {}
        self._releases: dict[str, str] = {}
        self._handlers: list[tuple[str, Callable[[int, str], bool]]] = [
            ("Kernel panic - not syncing", self._on_panic),
            ("NMI received for unknown reason", self._on_unknown_nmi),
            ("Dazed and confused", self._on_ignored_nmi),
            ("blocked for more than", self._on_hung_task),
            ("soft lockup", self._on_lockup),
            ("hard LOCKUP", self._on_lockup),
            ("stall", self._on_rcu_stall),
            ("invoked oom-killer", self._on_oom_invoked),
            ("oom-kill:", self._on_oom_summary),
            ("Killed process", self._on_oom_killed),
            ("CPU: ", self._on_cpu_line),
            ("ainted", self._on_release),
            ("Linux version ", self._on_release),
            ("BOOT_IMAGE=", self._on_release),
            ("NMI backtrace for cpu", self._on_nmi_backtrace),
            ("task:", self._on_sched_task),
            ("RIP: ", self._on_rip),
        ]

    def feed(self, number: int, raw: str) -> None:
        line = raw[:MAX_LINE_CHARS].rstrip()
        message = kp.message_of(line)
        if self._block is None or not self._block.take(message):
            self._close_block()
            self._scan(number, message)
        self._tail.append(line)

    def finish(self, line_count: int) -> TriageReport:
        self._close_block()
        report = self.report
        report.line_count = line_count
        sources = ("banner", "taint", "boot_image")
        report.kernel_release = next((self._releases[s] for s in sources if s in self._releases), None)
        if report.panic_line is None:
            report.last_lines = list(self._tail)
        report.panic_cause = _cause(report)
        return report

    def _scan(self, number: int, message: str) -> None:
        if not message:
            return
        if message.startswith(("Call Trace:", "Call trace:")):
            self._open_block(number)
            return
        if self._rcu_stall and number - self._rcu_stall.line_number <= RCU_DETAIL_WINDOW_LINES:
            kp.add_rcu_stall_detail(self._rcu_stall, message)
        for needle, handler in self._handlers:
            if needle in message and handler(number, message):
                return
        for needle, kind, pattern in kp.FINDINGS:
            if needle in message and pattern.search(message):
                self._on_finding(number, kind, message)
                return

    # Call traces: each belongs to the event or "CPU:" line just above it --------------------------------
    def _open_block(self, number: int) -> None:
        def recent(mark: _Mark | None) -> _Mark | None:
            return mark if mark and number - mark.line_number <= TRACE_WINDOW_LINES else None

        task, rip = recent(self._task), recent(self._rip)
        self._block = kp.TraceBlock(number, TOP_FRAMES_PER_STACK, rip=rip.label if rip else None)
        self._block_owner, self._block_task = recent(self._owner), task.label if task else None
        self._owner = self._task = self._rip = None

    def _close_block(self) -> None:
        block, owner, self._block = self._block, self._block_owner, None
        if block is None:
            return
        if owner is None:
            label = f"task {self._block_task}" if self._block_task else "unattributed"
            self._keep_other_trace(block.build(label, self._block_task))
        elif owner.assign is not None:
            owner.assign(block.build(owner.label, self._block_task))

    def _keep_other_trace(self, trace: CallTrace) -> None:
        if len(self.report.other_traces) < MAX_OTHER_TRACES:
            self.report.other_traces.append(trace)
        else:
            self.report.events_truncated = True

    def _expect_trace(self, number: int, label: str, event: _Event) -> None:
        def assign(trace: CallTrace) -> None:
            event.trace = trace

        self._owner = _Mark(number, label, assign if event.trace is None else None)

    def _add(self, events: list[_E], event: _E, key: str | None = None) -> bool:
        if len(events) >= MAX_EVENTS_PER_KIND:
            self.report.events_truncated = True
            return False
        events.append(event)
        if key:
            self._seen[key] = event
        return True

    # Panic and NMI ---------------------------------------------------------------------------------------
    def _on_panic(self, number: int, message: str) -> bool:
        panic = kp.PANIC.search(message)
        if panic is None or message.startswith("---[ end") or self.report.panic_line is not None:
            return True  # the first panic is the one that matters; later ones are its echo
        self.report.panic_line, self.report.panic_line_number = message[panic.start() :], number
        self.report.last_lines, self.report.last_lines_end = list(self._tail), "panic"

        def assign(trace: CallTrace) -> None:
            self.report.panic_trace = trace

        self._owner = _Mark(number, "panic", assign)
        return True

    def _on_unknown_nmi(self, number: int, message: str) -> bool:
        self.report.unknown_nmis += 1
        return True

    def _on_ignored_nmi(self, number: int, message: str) -> bool:
        self.report.ignored_nmis += 1
        return True

    # Hangs -----------------------------------------------------------------------------------------------
    def _on_hung_task(self, number: int, message: str) -> bool:
        match = kp.HUNG_TASK.search(message)
        if match is None:
            return False
        comm, pid, seconds = match.group(1), int(match.group(2)), int(match.group(3))
        key, label = f"hung:{comm}:{pid}", f"hung task {comm}:{pid}"
        seen = self._seen.get(key)
        if isinstance(seen, HungTask):  # reported again on every check while it stays blocked
            seen.reports += 1
            seen.blocked_seconds = max(seen.blocked_seconds, seconds)
            self._expect_trace(number, label, seen)
            return True
        task = HungTask(comm=comm, pid=pid, blocked_seconds=seconds, line_number=number)
        if self._add(self.report.hung_tasks, task, key):
            self._expect_trace(number, label, task)
        return True

    def _on_lockup(self, number: int, message: str) -> bool:
        lockup = kp.parse_lockup(number, message)
        if lockup is None:
            return False
        key = f"lockup:{lockup.kind}:{lockup.cpu}:{lockup.comm}:{lockup.pid}"
        label = f"{lockup.kind} lockup on CPU {lockup.cpu}"
        seen = self._seen.get(key)
        if isinstance(seen, Lockup):  # the watchdog repeats itself while the CPU stays stuck
            seen.reports += 1
            if lockup.stuck_seconds is not None:
                seen.stuck_seconds = max(seen.stuck_seconds or 0, lockup.stuck_seconds)
            self._expect_trace(number, label, seen)
        elif self._add(self.report.lockups, lockup, key):
            self._expect_trace(number, label, lockup)
        return True

    def _on_rcu_stall(self, number: int, message: str) -> bool:
        stall = kp.parse_rcu_stall(number, message)
        if stall is None:
            return False
        if self._add(self.report.rcu_stalls, stall):
            self._rcu_stall = stall
            kp.add_rcu_stall_detail(stall, message)
            self._expect_trace(number, f"RCU stall ({stall.flavor})", stall)
        return True

    # Memory: "<comm> invoked oom-killer", then "oom-kill:...", then "Out of memory: Killed process" ----
    def _on_oom_invoked(self, number: int, message: str) -> bool:
        match = kp.OOM_INVOKED.match(message)
        if match is None:
            return False
        oom = OomKill(invoked_by=match.group(1), line_number=number)
        if self._add(self.report.oom_kills, oom):
            self._pending_oom = oom
            self._expect_trace(number, f"OOM killer invoked by {oom.invoked_by}", oom)
        return True

    def _oom_for_victim(self, number: int, pid: int) -> OomKill | None:
        oom = self._pending_oom
        if oom is not None and oom.victim_pid in (None, pid):
            return oom
        oom = OomKill(line_number=number)
        return oom if self._add(self.report.oom_kills, oom) else None

    def _on_oom_summary(self, number: int, message: str) -> bool:
        match = kp.OOM_SUMMARY.search(message)
        if match is None:
            return False
        constraint, comm, pid = match.group(1), match.group(2), int(match.group(3))
        oom = self._pending_oom = self._oom_for_victim(number, pid)
        if oom is not None:
            oom.constraint, oom.victim_comm, oom.victim_pid = constraint, comm, pid
            oom.memory_cgroup = oom.memory_cgroup or constraint == "CONSTRAINT_MEMCG"
        return True

    def _on_oom_killed(self, number: int, message: str) -> bool:
        match = kp.OOM_KILLED.search(message)
        if match is None:
            return False
        scope, pid, comm, total_vm, anon_rss = match.groups()
        oom, self._pending_oom = self._oom_for_victim(number, int(pid)), None
        if oom is not None:
            oom.victim_pid, oom.victim_comm = int(pid), comm
            oom.total_vm_kb, oom.anon_rss_kb = int(total_vm), int(anon_rss)
            oom.memory_cgroup = oom.memory_cgroup or scope == "Memory cgroup out of memory"
        return True

    # Context for traces, and the kernel release ----------------------------------------------------------
    def _on_cpu_line(self, number: int, message: str) -> bool:
        match = kp.CPU_LINE.match(message)
        if match:
            cpu, pid, comm = match.groups()
            self._task = _Mark(number, f"{comm} (pid {pid}) on CPU {cpu}")
            self.report.kdump_loaded = bool(self.report.kdump_loaded) or "Kdump: loaded" in message
        return False  # the same line names the kernel release

    def _on_release(self, number: int, message: str) -> bool:
        for source, pattern in (
            ("banner", kp.LINUX_BANNER),
            ("taint", kp.RELEASE_AFTER_TAINT),
            ("boot_image", kp.BOOT_IMAGE),
        ):
            if match := pattern.search(message):
                self._releases.setdefault(source, match.group(1))
                if source == "banner" and (build := kp.DISTRO_BUILD.search(message)):
                    self.report.kernel_build = self.report.kernel_build or build.group(1) or build.group(2)
                return True
        return False

    def _on_nmi_backtrace(self, number: int, message: str) -> bool:
        match = kp.NMI_BACKTRACE.match(message)
        if match is None:
            return False
        waiting = self._owner
        # RCU stalls and lockups print the stuck CPU's stack as an NMI backtrace: the first one is theirs.
        if waiting is None or waiting.assign is None or number - waiting.line_number > TRACE_WINDOW_LINES:
            self._owner = _Mark(number, f"NMI backtrace for CPU {match.group(1)}", self._keep_other_trace)
        return True

    def _on_sched_task(self, number: int, message: str) -> bool:
        if match := kp.SCHED_TASK.match(message):
            self._task = _Mark(number, f"{match.group(1)} (state {match.group(2)})")
        return match is not None

    def _on_rip(self, number: int, message: str) -> bool:
        if match := kp.RIP.match(message):
            self._rip = _Mark(number, match.group(1))
        return match is not None

    def _on_finding(self, number: int, kind: FindingKind, message: str) -> None:
        key = kp.finding_key(kind, message)
        seen = self._seen.get(key)
        if isinstance(seen, Finding):
            seen.count += 1
            return
        finding = Finding(kind=kind, text=message, line_number=number)
        if self._add(self.report.findings, finding, key):
            self._expect_trace(number, clip(message, 80), finding)


def _cause(report: TriageReport) -> PanicCause:
    if report.panic_line is not None:
        message = report.panic_line.partition("not syncing:")[2].strip()
        return PanicCause.DIAGNOSTIC_NMI if message.startswith(kp.DIAGNOSTIC_NMI_PANIC) else PanicCause.OTHER
    if report.ignored_nmis:
        return PanicCause.NMI_IGNORED
    return PanicCause.NMI_SEEN if report.unknown_nmis else PanicCause.NONE


def triage_kernel_log(text: str) -> TriageReport:
    """Read a kernel log: vmcore-dmesg.txt, makedumpfile --dump-dmesg output or console output."""
    scanner = _Scanner()
    lines = text.replace("\x00", "").splitlines()
    for number, line in enumerate(lines, start=1):
        scanner.feed(number, line)
    return scanner.finish(len(lines))


# Callers read a triage and its reports from one module.
__all__ = ["render_markdown", "summary_lines", "triage_kernel_log"]
