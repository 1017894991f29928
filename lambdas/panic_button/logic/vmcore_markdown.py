"""report.md for a kernel engineer: the culprit, the CPUs, the blocked tasks, then the log triage."""

from panic_button.logic.kernel_symbols import debug_package, open_dump_commands
from panic_button.logic.triage_report import render_markdown
from panic_button.models.vmcore import DumpReport, TaskStack, VmcoreAnalysis

_STACK_FRAMES_SHOWN = 24


def render_dump_report(report: DumpReport) -> str:
    out = [f"# Culprit: {report.culprit or 'unknown'}", ""]
    if report.vmcore is not None:
        out += _vmcore_sections(report.vmcore)
    if report.dump is not None:
        out += _open_it_yourself(report, report.dump)
    if report.kernel_log is not None:
        # The log triage keeps its own report, one heading level down.
        out += ["## Kernel log triage", ""]
        triage = render_markdown(report.kernel_log).splitlines()
        out += [f"#{line}" if line.startswith("#") else line for line in triage]
    else:
        out += ["## Kernel log triage", "", "No kernel log was shipped with the dump.", ""]
    return "\n".join(out) + "\n"


def _open_it_yourself(report: DumpReport, dump: str) -> list[str]:
    log = report.kernel_log
    release = (report.vmcore.kernel.release if report.vmcore else None) or (log.kernel_release if log else None)
    build = log.kernel_build if log else None
    package = debug_package(release) if release else None
    kernel = " ".join(filter(None, [release or "an unknown kernel", build and f"({build})"]))
    symbols = f"`{package}`" if package else "the debug vmlinux from the kernel's vendor"
    return ["## Open it yourself", "", f"Kernel {kernel}; its debug symbols: {symbols}.", "", "```",
            *open_dump_commands(dump, release), "```", ""]


def _vmcore_sections(analysis: VmcoreAnalysis) -> list[str]:
    kernel = analysis.kernel
    out = ["## Kernel", "", "| Fact | Value |", "| --- | --- |"]
    facts: list[tuple[str, object]] = [
        ("Release", kernel.release), ("Build ID", kernel.build_id), ("Uptime (s)", kernel.uptime_seconds),
        ("Taint", kernel.taint or "none"), ("Load average", " ".join(str(v) for v in kernel.load_average)),
        ("Memory total / free (kB)", f"{kernel.memory_total_kb} / {kernel.memory_free_kb}"),
        ("Panic", kernel.panic_message), ("Analysis", f"{analysis.status} in {analysis.elapsed_seconds} s"),
        ("Symbols", analysis.symbols_source),
    ]  # fmt: skip
    out += [f"| {name} | {'' if value is None else value} |" for name, value in facts]
    out.append("")
    if analysis.missing_symbols is not None:
        missing = analysis.missing_symbols
        out += ["## Debug symbols missing", "", f"{analysis.error}.", "",
                *(["Looked in:", "", *(f"- {where}" for where in missing.looked_in), ""] if missing.looked_in else []),
                f"Package: `{missing.package or 'unknown for this release'}`. To add it:", "", "```",
                *missing.how_to_add, "```", "",
                "Without types the dump still gave: vmcoreinfo (release, build ID, crash time "
                f"{missing.crash_time}) and {missing.kallsyms_symbols} kallsyms symbol names.", ""]  # fmt: skip
        return out
    if analysis.error:
        out += ["## Analysis failed", "", analysis.error, ""]
        return out
    out += ["## CPUs at NMI time", ""]
    for state in analysis.cpus:
        task = state.task
        irqs = {True: "off", False: "on", None: "unknown"}[state.irqs_disabled]
        where = "user space" if task.in_user_space else "kernel"
        out.append(
            f"### CPU {state.cpu}: {task.label}{' (idle)' if state.idle else ''}, {task.policy}"
            f"{f' prio {task.rt_priority}' if task.rt_priority else ''}, on CPU for "
            f"{_seconds(task.since_last_arrival_seconds)}, interrupted in {where}, IRQs {irqs}"
        )
        out += ["", *_stack(task), ""]
    out += ["## Lockup signs", ""]
    out += [f"- CPU {sign.cpu} {sign.kind.value}: {sign.task} {sign.detail}" for sign in analysis.lockup_signs]
    out += ["" if analysis.lockup_signs else "None.", ""]
    out += ["## Tasks in D state, by stack", ""]
    if analysis.stack_groups:
        out += ["| Count | Stack (innermost first) | Tasks |", "| --- | --- | --- |"]
        out += [f"| {g.count} | {' <- '.join(g.signature)} | {', '.join(g.tasks)} |" for g in analysis.stack_groups]
        out.append("")
        if analysis.blocked_tasks_truncated:
            out += ["More tasks were in D state than stacks were unwound.", ""]
        for task in analysis.blocked_tasks:
            last_ran = _seconds(task.since_last_arrival_seconds)
            out += [f"### {task.label}, last ran {last_ran} ago", "", *_stack(task), ""]
    else:
        out += ["No task in D state.", ""]
    return out


def _stack(task: TaskStack) -> list[str]:
    lines = [f"#{index} {frame}" for index, frame in enumerate(task.frames[:_STACK_FRAMES_SHOWN])]
    if len(task.frames) > _STACK_FRAMES_SHOWN:
        lines.append(f"... {len(task.frames) - _STACK_FRAMES_SHOWN} more frames")
    if task.stack_error:
        lines.append(task.stack_error)
    return ["```", *lines, "```"]


def _seconds(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f} s"
