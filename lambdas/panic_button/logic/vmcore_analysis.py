"""Analyse a kernel crash dump itself with drgn: what every CPU ran, who was blocked, and the culprit.

    analysis = analyse_vmcore(Path("dump.202612011943"), symbols=[Path("vmlinux")])
    report = dump_report(analysis, kernel_log_text)          # the log triage rides along
    write_report(report, folder)                              # report.json and report.md

Without the kernel's debug info the analysis says exactly what is missing (build ID, package, the
commands to add it) and gives what the dump offers without types.
"""

from __future__ import annotations

import time
from pathlib import Path

from panic_button.logic import vmcore_program as program
from panic_button.logic.kernel_symbols import debug_package, how_to_add
from panic_button.logic.triage import summary_lines, triage_kernel_log
from panic_button.logic.vmcore_culprit import culprit, wait_hint
from panic_button.logic.vmcore_kernel import kernel_summary
from panic_button.logic.vmcore_markdown import render_dump_report
from panic_button.logic.vmcore_signs import lockup_signs, stack_groups
from panic_button.models.vmcore import DumpReport, KernelSummary, MissingSymbols, VmcoreAnalysis

MAX_BLOCKED_STACKS = 500  # stacks unwound for D-state tasks; the count covers all of them
REPORT_JSON = "report.json"
REPORT_MARKDOWN = "report.md"


def analyse_vmcore(
    dump: Path, *, symbols: list[Path] | None = None, symbols_root: Path | None = None
) -> VmcoreAnalysis:
    started = time.monotonic()
    try:
        prog = program.open_vmcore(dump)
    except program.VmcoreUnreadable as exc:
        return VmcoreAnalysis(status="failed", error=str(exc), elapsed_seconds=_since(started))
    info = program.vmcoreinfo(prog)
    vmlinux = program.find_vmlinux(info.build_id, symbols or [], symbols_root)
    if vmlinux is None:
        return _without_symbols(prog, info, started)
    program.load_kernel_debug_info(prog, vmlinux)
    from panic_button.logic.vmcore_tasks import blocked_tasks, cpu_states

    cpus = cpu_states(prog)
    blocked, blocked_total = blocked_tasks(prog, MAX_BLOCKED_STACKS)
    groups = stack_groups(blocked)
    signs = lockup_signs(cpus)
    biggest = groups[0] if groups else None
    hint = next((wait_hint(task) for task in blocked if biggest and task.label in biggest.tasks), None)
    return VmcoreAnalysis(
        status="analysed",
        kernel=kernel_summary(prog, info),
        cpus=cpus,
        blocked_tasks=blocked,
        blocked_tasks_truncated=blocked_total > len(blocked),
        stack_groups=groups,
        lockup_signs=signs,
        culprit=culprit(cpus, signs, groups, hint),
        elapsed_seconds=_since(started),
        symbols_source=str(vmlinux),
    )


def _without_symbols(prog: object, info: program.VmcoreInfo, started: float) -> VmcoreAnalysis:
    package = debug_package(info.release) if info.release else None
    try:
        symbol_count: int | None = program.kallsyms_symbol_count(prog)
    except (LookupError, ValueError):  # kernels before 6.0 do not describe kallsyms in vmcoreinfo
        symbol_count = None
    missing = MissingSymbols(
        release=info.release,
        build_id=info.build_id,
        package=package,
        how_to_add=how_to_add(info.release, info.build_id, package),
        kallsyms_symbols=symbol_count,
        crash_time=info.crash_time,
    )
    return VmcoreAnalysis(
        status="no_symbols",
        kernel=KernelSummary(release=info.release, build_id=info.build_id),
        missing_symbols=missing,
        error=f"no vmlinux with build ID {info.build_id or '(none in vmcoreinfo)'} for kernel {info.release}",
        elapsed_seconds=_since(started),
    )


def dump_report(analysis: VmcoreAnalysis | None, kernel_log: str | None, dump: str | None = None) -> DumpReport:
    """One report: the culprit line first, from the dump when it could be typed, else from the log."""
    triage = triage_kernel_log(kernel_log) if kernel_log is not None else None
    line = analysis.culprit if analysis else None
    if line is None and analysis is not None and analysis.status == "no_symbols":
        line = f"dump not analysed: {analysis.error}"
        if triage is not None:
            line += f"; log: {summary_lines(triage)[0]}"
    elif line is None and triage is not None:
        line = summary_lines(triage)[0]
    return DumpReport(culprit=line, vmcore=analysis, kernel_log=triage, dump=dump)


def write_report(report: DumpReport, folder: Path) -> tuple[Path, Path]:
    json_path, markdown_path = folder / REPORT_JSON, folder / REPORT_MARKDOWN
    json_path.write_text(report.model_dump_json(indent=2))
    markdown_path.write_text(render_dump_report(report))
    return json_path, markdown_path


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)
