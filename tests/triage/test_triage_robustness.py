"""Triage must never raise: empty logs, binary garbage, odd line endings, huge and hostile inputs.

A seeded random loop stands in for property-based testing (hypothesis is not a project dependency):
the seeds make every failure reproducible.
"""

import random

import pytest
from corpus_reports import corpus_text
from panic_button.logic.triage import MAX_EVENTS_PER_KIND, render_markdown, summary_lines, triage_kernel_log
from panic_button.models.triage import PanicCause, TriageReport

# Pieces of real kernel lines, so random logs reach deep into the parser instead of failing the first match.
# fmt: off
FRAGMENTS = [
    "[  812.104573] ", "[  812.104573][    C3] ", "<4>", "Call Trace:", " <NMI>", " </NMI>", " <TASK>", " <IRQ>",
    " ? __schedule+0x2f0/0x8a0", " xfs_log_force+0x132/0x250 [xfs]", "RIP: 0010:native_safe_halt+0xb/0x10",
    "Kernel panic - not syncing: ", "NMI: Not continuing", "Uhhuh. NMI received for unknown reason 21 on CPU 0.",
    "Dazed and confused, but trying to continue", "INFO: task ", "mysqld:", "2291", " blocked for more than ",
    "120 seconds.", "watchdog: BUG: soft lockup - CPU#3 stuck for 23s! [", "kworker/3:2:8812]",
    "Watchdog detected hard LOCKUP on cpu ", "rcu: INFO: rcu_sched self-detected stall on CPU", "rcu: \t1-....: (",
    "(t=15000 jiffies", "{ 3-.... } 21 jiffies", " invoked oom-killer: ", "oom-kill:constraint=CONSTRAINT_NONE,",
    "task=java,pid=1,uid=0", "Out of memory: Killed process 1234 (java) total-vm:1kB, anon-rss:2kB",
    "CPU: 0 PID: 0 Comm: swapper/0 Kdump: loaded Not tainted 6.1.0-18-amd64 #1", "Linux version ",
    "BOOT_IMAGE=/vmlinuz-", "NMI backtrace for cpu 1", "task:postgres        state:D", "WARNING: CPU: 1 PID: 0 at ",
    "BUG: unable to handle page fault", "general protection fault", "\\x09", "\r\n", "\n", "\r", "\x00", "\x85",
    "\u2028", "\ufffd", "(", ")", "[", "]", ":", "#", " ", "\t",
]
# fmt: on


def _check(report: TriageReport) -> None:
    """What every report must satisfy, whatever the input."""
    assert len(summary_lines(report)) == 3
    assert render_markdown(report).count("```") % 2 == 0
    assert TriageReport.model_validate_json(report.model_dump_json()) == report


def test_empty_log() -> None:
    report = triage_kernel_log("")

    assert (report.panic_cause, report.line_count, report.kernel_release) == (PanicCause.NONE, 0, None)
    assert summary_lines(report) == [
        "Kernel release unknown: no kernel panic in the log",
        "Cause: no panic and no NMI in the log",
        "In the log: no hung tasks, no lockups, no OOM",
    ]
    _check(report)


@pytest.mark.parametrize("seed", range(40))
def test_random_binary_never_raises(seed: int) -> None:
    rng = random.Random(seed)
    data = rng.randbytes(rng.randint(0, 64 * 1024))

    for text in (data.decode("utf-8", errors="replace"), data.decode("latin-1")):
        _check(triage_kernel_log(text))


@pytest.mark.parametrize("seed", range(200))
def test_random_kernel_like_logs_never_raise(seed: int) -> None:
    rng = random.Random(seed)
    text = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 400)))

    _check(triage_kernel_log(text))


def test_line_endings_do_not_change_the_facts() -> None:
    unix = corpus_text("debian12-oom-hung-tasks-nmi.dmesg")
    reports = [triage_kernel_log(unix.replace("\n", ending)) for ending in ("\n", "\r\n", "\r")]

    assert reports[0] == reports[1] == reports[2]
    assert reports[0].panic_cause is PanicCause.DIAGNOSTIC_NMI


def test_nul_bytes_from_a_zeroed_page_are_ignored() -> None:
    text = corpus_text("debian12-nmi-panic.dmesg").replace("Kernel panic", "Kernel \x00\x00panic")

    assert triage_kernel_log(text).panic_cause is PanicCause.DIAGNOSTIC_NMI


def test_ten_megabyte_log() -> None:
    one = corpus_text("debian12-oom-hung-tasks-nmi.dmesg")
    text = one * (10 * 1024 * 1024 // len(one) + 1)

    report = triage_kernel_log(text)

    assert report.line_count == 806 * (10 * 1024 * 1024 // len(one) + 1)
    assert len(report.hung_tasks) == 3  # the same tasks again and again: one event each
    assert len(report.oom_kills) == MAX_EVENTS_PER_KIND and report.events_truncated
    assert report.panic_line_number == 774  # the first panic
    _check(report)


@pytest.mark.parametrize(
    "line",
    [
        "INFO: task " + ":1" * 2_000_000,  # many candidate "comm:pid" splits
        "BUG: soft lockup - CPU#1 stuck for 1s! [" + "a:" * 2_000_000,
        "oom-kill:constraint=X," + ",task=" * 1_000_000,
        "Killed process 1 (" + ")" * 3_000_000,
        "CPU: 1 PID: 1 Comm: " + " " * 3_000_000 + "Not tainted",
        "Tainted: " + "G " * 2_000_000,
        "[" + " " * 4_000_000,
        "x" * 10_000_000,
    ],
    ids=["hung", "lockup", "oom-summary", "oom-killed", "cpu", "taint", "prefix", "long"],
)
def test_hostile_long_lines_are_cut_before_matching(line: str) -> None:
    _check(triage_kernel_log(line))
