"""How `panic-button readiness` shows its report: a table with a fleet summary, or JSON."""

from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from panic_button_cli.operations.readiness_checks import ReadinessReport

MOST_COMMON = 5
PIPED_WIDTH = 200


def readiness_table(report: ReadinessReport) -> Group:
    table = Table(title="Panic Button readiness", title_justify="left")
    for column in ("instance", "name", "type", "platform", "readiness"):
        table.add_column(column, no_wrap=True)
    table.add_column("reasons")
    for instance in report.instances:
        findings = Text()
        for line in instance.reasons:
            findings.append(f"{line}\n", style="red")
        for line in instance.warnings:
            findings.append(f"warn {line}\n", style="yellow")
        findings.rstrip()
        table.add_row(
            instance.instance_id, instance.name or "-", instance.instance_type or "-", instance.platform or "-",
            Text("READY", style="bold green") if instance.ready else Text("NOT READY", style="bold red"),
            findings,
        )
    return Group(table, summary_line(report))


def summary_line(report: ReadinessReport) -> Text:
    """`Fleet: 5 instances, 3 READY, 2 NOT READY; failing: nmi_panic 2, ssm_agent 1`."""
    summary = report.summary
    line = Text(f"Fleet: {summary.total} instance(s), ")
    line.append(f"{summary.ready} READY", style="green")
    line.append(", ")
    line.append(f"{summary.not_ready} NOT READY", style="red" if summary.not_ready else "")
    if summary.failing_checks:
        common = list(summary.failing_checks.items())[:MOST_COMMON]
        line.append("; failing: " + ", ".join(f"{name} {count}" for name, count in common))
    return line


def print_report(report: ReadinessReport, as_json: bool, console: Console | None = None) -> None:
    if as_json:
        print(report.model_dump_json(indent=2))
        return
    if console is None:
        console = Console()
        # Piped output has no terminal width; keep rows whole for grep and less rather than 80 columns.
        console = console if console.is_terminal else Console(width=PIPED_WIDTH)
    console.print(readiness_table(report), highlight=False)
