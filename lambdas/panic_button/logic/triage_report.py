"""Triage reports for people: report.md for a kernel engineer, and three lines for SNS and the CLI."""

from panic_button.models.triage import MAX_EVENTS_PER_KIND, CallTrace, FindingKind, PanicCause, TriageReport
from panic_button.models.triage import TriageEvent as _Event

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
    return [clip(" ".join(line.split()), _SUMMARY_LINE_CHARS) for line in lines]


def clip(text: str, limit: int) -> str:
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
            # The kernel says only "more than N seconds": keep its lower bound a lower bound.
            [t.comm, t.pid, f"more than {t.blocked_seconds} s", t.reports, t.line_number] for t in report.hung_tasks
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
        rows = [[f.kind.value, f.count, clip(f.text, 160), f.line_number] for f in report.findings]
        out += ["### Errors and warnings", "", *_table(["Kind", "Count", "First message", "Line"], rows)]
    return out or ["No hung tasks, lockups, RCU stalls, OOM kills, BUGs or warnings.", ""]


def render_markdown(report: TriageReport) -> str:
    """A report a kernel engineer reads first: headline, cause, findings, traces, the last lines."""
    kdump = {True: "yes", False: "no", None: "unknown"}[report.kdump_loaded]
    headline = report.panic_line or "No kernel panic in this log"
    out = [f"# {_cell(headline)}", "", _CAUSE_LONG[report.panic_cause], ""]
    facts: list[list[object]] = [
        # uname -r and the distro's own version differ (6.1.0-57-amd64 is Debian 6.1.192-3): show both.
        ["Kernel", " ".join(filter(None, [report.kernel_release, report.kernel_build and f"({report.kernel_build})"]))],
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
