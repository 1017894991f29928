"""The terminal side of `follow`: a spinner line on a TTY, one plain line per new state otherwise."""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.status import Status
from rich.text import Text

from panic_button_cli.operations.formatting import duration, outcome_style, size
from panic_button_cli.operations.progress import ExecutionProgress, ExecutionResult, StateVisit

_LABEL_WIDTH = 10


class ProgressDisplay:
    """Context manager: the spinner lives between enter and exit; state lines print above it."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._status: Status | None = None

    def __enter__(self) -> Self:
        if self._console.is_terminal:
            self._status = self._console.status("waiting for the first event")
            self._status.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._status is not None:
            self._status.stop()

    def show(self, progress: ExecutionProgress, entered: list[StateVisit], now: datetime) -> None:
        for visit in entered:
            offset = (visit.first_entered_at - progress.started_at).total_seconds() if progress.started_at else 0.0
            self._console.print(Text(f"  +{duration(offset):>7}  {visit.name}"), highlight=False)
        if self._status is not None:
            self._status.update(current_line(progress, now))


def current_line(progress: ExecutionProgress, now: datetime) -> str:
    """`CheckRecovery (poll 4) 0.8s in state · 3m 12s total`: the one line that updates."""
    total = duration(progress.elapsed(now))
    visit = progress.visits.get(progress.current or "")
    if visit is None:
        return f"waiting · {total} total"
    if visit.name == "RequestApproval" and visit.exited_at is None:
        # The run waits for a person: say so, and how to answer.
        return (f"waiting for approval {duration(visit.seconds(now))} · {total} total "
                f"(panic-button approve|deny EXECUTION)")
    repeat = f" (poll {visit.visits})" if visit.visits > 1 else ""
    return f"{visit.name}{repeat} {duration(visit.seconds(now))} in state · {total} total"


def print_result(console: Console, result: ExecutionResult, progress: ExecutionProgress) -> None:
    def row(label: str, value: Text | str) -> None:
        console.print(Text.assemble(Text(f"{label:<{_LABEL_WIDTH}}", style="bold"), value), highlight=False)

    console.print()
    if result.outcome is not None:
        row("Outcome", Text(result.outcome.value, style=f"bold {outcome_style(result.outcome)}"))
    else:
        row("Outcome", Text(f"none (execution {result.status})", style="bold red"))
    if result.culprit:
        row("Culprit", result.culprit)
    row("Reason", result.reason)
    for index, (uri, count, kind) in enumerate(result.artifacts):
        row("Artifacts" if index == 0 else "", f"{uri} ({size(count)}, {kind})")
    for index, line in enumerate(result.triage_summary):
        row("Triage" if index == 0 else "", line)
    if progress.ended_at is not None:
        row("Elapsed", duration(progress.elapsed(progress.ended_at)))
