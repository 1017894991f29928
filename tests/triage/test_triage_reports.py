"""What people read: the three summary lines, the Markdown report, and report.json."""

import pytest
from corpus_reports import CORPUS, report_for
from panic_button.logic.triage import render_markdown, summary_lines, triage_kernel_log
from panic_button.models.triage import TriageReport

ALL_LOGS = sorted(p.name for p in CORPUS.iterdir() if p.suffix != ".md")


def test_corpus_holds_every_required_scenario() -> None:
    assert len(ALL_LOGS) >= 9


@pytest.mark.parametrize("name", ALL_LOGS)
def test_summary_is_exactly_three_short_lines(name: str) -> None:
    lines = summary_lines(report_for(name))

    assert len(lines) == 3
    assert all(0 < len(line) <= 200 and "\n" not in line for line in lines)
    assert lines[1].startswith("Cause: ")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "debian12-oom-hung-tasks-nmi.dmesg",
            [
                "Kernel 6.1.0-56-amd64: Kernel panic - not syncing: NMI: Not continuing",
                "Cause: diagnostic interrupt (NMI) — kdump worked",
                "Before the panic: 3 hung tasks (postgres, touch, mkdir), no lockups, 1 OOM kill (awk)",
            ],
        ),
        (
            "debian12-nmi-ignored.console.log",
            [
                "Kernel 6.1.0-56-amd64: no kernel panic in the log",
                "Cause: NMI ignored (unknown_nmi_panic=0) — no dump taken",
                "In the log: no hung tasks, no lockups, no OOM",
            ],
        ),
        (
            "rhel8-ebs-stall-nmi-panic.vmcore-dmesg.txt",
            [
                "Kernel 4.18.0-513.5.1.el8_9.x86_64: Kernel panic - not syncing: NMI: Not continuing",
                "Cause: diagnostic interrupt (NMI) — kdump worked",
                "Before the panic: 3 hung tasks (xfsaild/nvme1n1, mysqld, kworker/u8:3), no lockups, no OOM,"
                " 6 I/O errors",
            ],
        ),
    ],
)
def test_summary_wording(name: str, expected: list[str]) -> None:
    assert summary_lines(report_for(name)) == expected


def test_summary_names_lockups_stalls_and_other_panics() -> None:
    assert summary_lines(report_for("al2023-soft-lockups-nmi-panic.console.log"))[2] == (
        "Before the panic: no hung tasks, 2 soft lockups, no OOM"
    )
    hard = summary_lines(report_for("debian12-hard-lockup-panic.dmesg"))
    assert hard[1] == "Cause: the kernel panicked on its own, not from the diagnostic interrupt"
    assert hard[2] == "Before the panic: no hung tasks, 1 hard lockup, no OOM"
    assert "2 RCU stalls" in summary_lines(report_for("ubuntu22-rcu-stall-nmi-panic.dmesg"))[2]


def test_summary_clips_a_long_panic_message_and_names_only_a_few_tasks() -> None:
    hung = "\n".join(f"INFO: task worker{n}:{n} blocked for more than 120 seconds." for n in range(5))
    report = triage_kernel_log(f"{hung}\nKernel panic - not syncing: {'x' * 500}")

    headline, _, before = summary_lines(report)
    assert len(headline) == 200 and headline.endswith("…")
    assert before.startswith("Before the panic: 5 hung tasks (worker0, worker1, worker2, …)")


def test_markdown_for_a_diagnostic_panic() -> None:
    markdown = render_markdown(report_for("debian12-oom-hung-tasks-nmi.dmesg"))

    assert markdown.startswith("# Kernel panic - not syncing: NMI: Not continuing\n")
    assert "The diagnostic interrupt (NMI) made the kernel panic" in markdown
    assert "| postgres | 116 | more than 12 s | 4 | 416 |" in markdown
    assert "### Hung task postgres:116 (line 420)" in markdown
    assert "RIP: `native_safe_halt+0xb/0x10`." in markdown
    assert "<NMI>\n dump_stack_lvl+0x44/0x5c\n panic+0x118/0x2f4\n ? _printk+0x68/0x83\n" in markdown
    assert "## Last 20 lines before the panic" in markdown
    assert markdown.count("```") % 2 == 0


def test_markdown_for_a_log_without_panic() -> None:
    markdown = render_markdown(report_for("ubuntu22-memcg-oom-warning.journal.txt"))

    assert markdown.startswith("# No kernel panic in this log\n")
    assert "## Last 20 lines of the log" in markdown
    assert "| java | 20188 | java | CONSTRAINT_MEMCG | 2083844 |" in markdown


def test_markdown_keeps_tables_and_code_blocks_intact_whatever_the_log_says() -> None:
    report = triage_kernel_log("INFO: task a|b`c:7 blocked for more than 120 seconds.\nsome line with ``` fences\n")
    markdown = render_markdown(report)

    assert "| a\\|b'c | 7 |" in markdown
    assert "some line with ''' fences" in markdown
    assert markdown.count("```") % 2 == 0


@pytest.mark.parametrize("name", ALL_LOGS)
def test_report_json_round_trips(name: str) -> None:
    report = report_for(name)

    assert TriageReport.model_validate_json(report.model_dump_json()) == report


def test_hung_tasks_keep_the_kernels_lower_bound() -> None:
    # The kernel prints "blocked for more than 120 seconds", never the exact time.
    markdown = render_markdown(report_for("debian12-oom-hung-tasks-nmi.dmesg"))
    [row] = [line for line in markdown.splitlines() if line.startswith("| postgres ")]
    assert "| more than 12 s |" in row  # its largest report: "blocked for more than 12 seconds"


@pytest.mark.parametrize(("name", "kernel"), [
    ("debian12-nmi-panic.dmesg", "| Kernel | 6.1.0-56-amd64 (Debian 6.1.192-2) |"),
    ("ubuntu22-rcu-stall-nmi-panic.dmesg", "| Kernel | 5.15.0-1051-aws (Ubuntu 5.15.0-1051.56-aws) |"),
    ("rhel8-ebs-stall-nmi-panic.vmcore-dmesg.txt", "| Kernel | 4.18.0-513.5.1.el8_9.x86_64 |"),
])
def test_the_kernel_fact_shows_the_release_and_the_distros_own_version(name: str, kernel: str) -> None:
    assert kernel in render_markdown(report_for(name)).splitlines()
