"""How durations, sizes and outcomes look in a terminal."""

from __future__ import annotations

from panic_button.outcomes import Outcome

_GREEN = {Outcome.DUMP_COLLECTED, Outcome.DRY_RUN}
_RED = {Outcome.NOT_RECOVERED, Outcome.COLLECTION_FAILED, Outcome.WORKFLOW_FAILED, Outcome.WORKFLOW_ABORTED}


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(seconds, 0.0)  # a local clock behind AWS's event timestamps must not show negative time
    whole = int(seconds)
    if whole < 60:
        return f"{seconds:.0f}s" if seconds >= 10 else f"{seconds:.1f}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def size(count: int | None) -> str:
    if not count:
        return "-"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def outcome_style(outcome: Outcome | str) -> str:
    """Green for the outcomes that worked, red for those that page someone, yellow for the rest."""
    code = Outcome(outcome)
    if code in _GREEN:
        return "green"
    if code in _RED:
        return "red"
    return "yellow"
