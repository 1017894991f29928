"""The kernel log corpus (see corpus/README.md) and each log's triage report, computed once per session."""

from functools import cache
from pathlib import Path

from panic_button.logic.triage import triage_kernel_log
from panic_button.models.triage import CallTrace, TriageReport

CORPUS = Path(__file__).parent / "corpus"


def corpus_text(name: str) -> str:
    # newline="" keeps CRLF console logs as the serial port wrote them.
    with (CORPUS / name).open(encoding="utf-8", errors="replace", newline="") as log:
        return log.read()


@cache
def report_for(name: str) -> TriageReport:
    return triage_kernel_log(corpus_text(name))


def functions(trace: CallTrace | None, stack: str | None = "any") -> list[str]:
    """Frame function names of a trace, optionally only those on one stack ("NMI", "TASK", None...)."""
    assert trace is not None, "expected a call trace"
    return [f.function for f in trace.frames if stack in ("any", f.context)]
