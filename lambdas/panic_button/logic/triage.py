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
from panic_button.models.triage import (
    CallTrace,
    Finding,
    FindingKind,
    HungTask,
    Lockup,
    OomKill,
    PanicCause,
    RcuStall,
    TriageReport,
)

MAX_LINE_CHARS = 2048  # printk lines are under 1 KiB; longer ones are garbage or glued lines
TOP_FRAMES_PER_STACK = 8
LAST_LINES = 20
TRACE_WINDOW_LINES = 60  # how far below its event (or "CPU: ..." line) a "Call Trace:" may start
RCU_DETAIL_WINDOW_LINES = 40
MAX_EVENTS_PER_KIND = 100
MAX_OTHER_TRACES = 20

_Event = HungTask | Lockup | RcuStall | OomKill | Finding
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
            self._expect_trace(number, _clip(message, 80), finding)


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


# Reports for people -------------------------------------------------------------------------------------
_CAUSE_SHORT = {
    PanicCause.DIAGNOSTIC_NMI: "diagnostic interrupt (NMI) — kdump worked",
    PanicCause.NMI_IGNORED: "NMI ignored (unknown_nmi_panic=0) — no dump taken",
    PanicCause.NMI_SEEN: "NMI received, but the log ends before a panic",
    PanicCause.OTHER: "the kernel panicked on its own, not from the diagnostic interrupt",
    PanicCause.NONE: "no panic and no NMI in the log",
}
_CAUSE_LONG = {
    PanicCause.DIAGNOSTIC_NMI: "The diagnostic interrupt (NMI) made the kernel panic, so kdump could save "
    "a dump. The findings below describe the hang it interrupted.",
    PanicCause.NMI_IGNORED: 'The kernel received the NMI and carried on ("Dazed and confused"): it does not '
    "panic on unknown NMIs. Set `kernel.unknown_nmi_panic=1` so the next interrupt produces a dump.",
    PanicCause.NMI_SEEN: "The kernel received an unknown NMI, but the log ends before it panicked or "
    "carried on (a console log often misses the panic text).",
    PanicCause.OTHER: "The kernel panicked on its own, not because of the diagnostic interrupt.",
    PanicCause.NONE: "The log holds no kernel panic and no unknown NMI.",
}
_FINDING_NAMES = {
    FindingKind.BUG: ("BUG", "BUGs"),
    FindingKind.GENERAL_PROTECTION_FAULT: ("general protection fault", None),
    FindingKind.WARNING: ("WARNING", None),
    FindingKind.HARDWARE_ERROR: ("hardware error", None),
    FindingKind.IO_ERROR: ("I/O error", None),
    FindingKind.FILESYSTEM_ERROR: ("filesystem error", None),
}
_SUMMARY_LINE_CHARS = 200


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def _names(names: list[str], shown: int = 3) -> str:
    distinct = list(dict.fromkeys(names))
    more = ", …" if len(distinct) > shown else ""
    return f" ({', '.join(distinct[:shown])}{more})" if distinct else ""


def _what_happened(report: TriageReport) -> str:
    parts = [
        _count(len(report.hung_tasks), "hung task") + _names([t.comm for t in report.hung_tasks])
        if report.hung_tasks
        else "no hung tasks"
    ]
    for kind in ("soft", "hard"):
        lockups = [lockup for lockup in report.lockups if lockup.kind == kind]
        if lockups:
            parts.append(_count(len(lockups), f"{kind} lockup"))
    if not report.lockups:
        parts.append("no lockups")
    if report.rcu_stalls:
        parts.append(_count(len(report.rcu_stalls), "RCU stall"))
    victims = [oom.victim_comm or "nothing killed" for oom in report.oom_kills]
    parts.append(_count(len(victims), "OOM kill") + _names(victims) if victims else "no OOM")
    for kind, (singular, plural) in _FINDING_NAMES.items():
        lines = sum(f.count for f in report.findings if f.kind == kind)
        if lines:
            parts.append(_count(lines, singular, plural))
    return ", ".join(parts)


def summary_lines(report: TriageReport) -> list[str]:
    """Exactly three short lines, for a notification and the CLI."""
    release = report.kernel_release or "release unknown"
    when = "Before the panic" if report.panic_line else "In the log"
    lines = [
        f"Kernel {release}: {report.panic_line or 'no kernel panic in the log'}",
        f"Cause: {_CAUSE_SHORT[report.panic_cause]}",
        f"{when}: {_what_happened(report)}",
    ]
    return [_clip(" ".join(line.split()), _SUMMARY_LINE_CHARS) for line in lines]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("`", "'") if value is not None else "-"


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows] + [""]


def _code(lines: list[str]) -> list[str]:
    return ["```text", *(line.replace("```", "'''") for line in lines), "```", ""]


def _trace_section(trace: CallTrace) -> list[str]:
    body, stack = [], None
    for frame in trace.frames:
        if frame.context != stack and frame.context:
            body.append(f"<{frame.context}>")
        stack = frame.context
        body.append(f" {frame}")
    if trace.omitted_frames:
        body.append(f" ({_count(trace.omitted_frames, 'more frame')} not shown)")
    where = [f"Task: {_cell(trace.task)}."] if trace.task else []
    where += [f"RIP: `{_cell(trace.rip)}`."] if trace.rip else []
    title = trace.produced_by[:1].upper() + trace.produced_by[1:]
    return [f"### {_cell(title)} (line {trace.line_number})", "", " ".join(where), "", *_code(body)]


def _event_tables(report: TriageReport) -> list[str]:
    out: list[str] = []
    if report.hung_tasks:
        rows: list[list[object]] = [
            [t.comm, t.pid, f"{t.blocked_seconds} s", t.reports, t.line_number] for t in report.hung_tasks
        ]
        out += ["### Hung tasks", "", *_table(["Task", "PID", "Blocked for", "Reports", "Line"], rows)]
    if report.lockups:
        rows = [
            [x.kind, x.cpu, x.comm and f"{x.comm}:{x.pid}", x.stuck_seconds, x.reports, x.line_number]
            for x in report.lockups
        ]
        out += ["### Lockups", "", *_table(["Kind", "CPU", "Task", "Stuck (s)", "Reports", "Line"], rows)]
    if report.rcu_stalls:
        rows = [[s.flavor, s.kind, ", ".join(map(str, s.cpus)), s.jiffies, s.line_number] for s in report.rcu_stalls]
        out += ["### RCU stalls", "", *_table(["Flavor", "Kind", "CPUs", "Jiffies", "Line"], rows)]
    if report.oom_kills:
        rows = [
            [o.victim_comm, o.victim_pid, o.invoked_by, o.constraint, o.anon_rss_kb, o.line_number]
            for o in report.oom_kills
        ]
        header = ["Killed", "PID", "Invoked by", "Constraint", "anon-rss (kB)", "Line"]
        out += ["### OOM kills", "", *_table(header, rows)]
    if report.findings:
        rows = [[f.kind.value, f.count, _clip(f.text, 160), f.line_number] for f in report.findings]
        out += ["### Errors and warnings", "", *_table(["Kind", "Count", "First message", "Line"], rows)]
    return out or ["No hung tasks, lockups, RCU stalls, OOM kills, BUGs or warnings.", ""]


def render_markdown(report: TriageReport) -> str:
    """A report a kernel engineer reads first: headline, cause, findings, traces, the last lines."""
    kdump = {True: "yes", False: "no", None: "unknown"}[report.kdump_loaded]
    headline = report.panic_line or "No kernel panic in this log"
    out = [f"# {_cell(headline)}", "", _CAUSE_LONG[report.panic_cause], ""]
    facts: list[list[object]] = [
        ["Kernel", report.kernel_release],
        ["Panic line", report.panic_line_number],
        ["Cause", report.panic_cause.value],
        ["Kdump loaded", kdump],
        ["Unknown NMIs (ignored)", f"{report.unknown_nmis} ({report.ignored_nmis})"],
        ["Lines read", report.line_count],
    ]
    out += _table(["Fact", "Value"], facts)
    out += ["## Findings", "", *summary_lines(report)[2:], "", *_event_tables(report)]
    if report.events_truncated:
        out += [f"Lists stop at {MAX_EVENTS_PER_KIND} entries; the log holds more.", ""]
    events: list[_Event] = [*report.hung_tasks, *report.lockups, *report.rcu_stalls, *report.oom_kills]
    traces = [report.panic_trace] if report.panic_trace else []
    traces += [e.trace for e in [*events, *report.findings] if e.trace] + report.other_traces
    if traces:
        out += ["## Call traces", ""]
        for trace in traces:
            out += _trace_section(trace)
    where = "before the panic" if report.last_lines_end == "panic" else "of the log"
    out += [f"## Last {len(report.last_lines)} lines {where}", "", *_code(report.last_lines)]
    return "\n".join(out)
