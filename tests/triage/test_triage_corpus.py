"""Facts triage must extract from each kernel log of the corpus (real captures and printk-format logs)."""

import pytest
from corpus_reports import corpus_text, functions, report_for
from panic_button.models.triage import FindingKind, PanicCause

NMI_PANIC = "Kernel panic - not syncing: NMI: Not continuing"
DEBIAN_NMI_LOGS = ["debian12-nmi-panic.dmesg", "debian12-nmi-panic.vmcore-dmesg.txt"]


@pytest.mark.parametrize("name", DEBIAN_NMI_LOGS)
def test_real_debian_nmi_panic_is_our_interrupt(name: str) -> None:
    report = report_for(name)

    assert report.kernel_release == "6.1.0-56-amd64"
    assert report.panic_line == NMI_PANIC
    assert report.panic_cause is PanicCause.DIAGNOSTIC_NMI
    assert (report.unknown_nmis, report.ignored_nmis, report.kdump_loaded) == (1, 0, True)
    assert not (report.hung_tasks or report.lockups or report.rcu_stalls or report.oom_kills)
    assert report.line_count == 391


@pytest.mark.parametrize("name", DEBIAN_NMI_LOGS)
def test_real_debian_nmi_panic_trace_shows_the_nmi_handler_and_the_idle_task(name: str) -> None:
    trace = report_for(name).panic_trace

    assert trace is not None
    assert trace.produced_by == "panic"
    assert trace.task == "swapper/0 (pid 0) on CPU 0"
    assert trace.rip == "native_safe_halt+0xb/0x10"
    assert functions(trace, "NMI")[:4] == ["dump_stack_lvl", "panic", "_printk", "nmi_panic.cold"]
    assert functions(trace, "TASK")[:3] == ["amd_e400_idle", "default_idle_call", "do_idle"]
    printk = next(f for f in trace.frames if f.function == "_printk")
    assert (printk.reliable, printk.offset) == (False, "+0x68/0x83")
    assert len(functions(trace, "NMI")) == 8  # top frames per stack; the ninth is counted, not kept
    assert trace.omitted_frames == 1


def test_real_debian_nmi_panic_keeps_the_lines_before_the_panic_line() -> None:
    report = report_for("debian12-nmi-panic.dmesg")

    assert report.last_lines_end == "panic"
    assert len(report.last_lines) == 20
    assert report.last_lines[-1] == "[    4.264722] Uhhuh. NMI received for unknown reason 21 on CPU 0."
    assert report.panic_line_number == 359  # 1-based, as grep -n shows it


def test_real_hung_task_storm_and_oom_before_the_nmi() -> None:
    report = report_for("debian12-oom-hung-tasks-nmi.dmesg")

    assert report.panic_cause is PanicCause.DIAGNOSTIC_NMI
    hung = [(t.comm, t.pid, t.blocked_seconds, t.reports) for t in report.hung_tasks]
    assert hung == [("postgres", 116, 12, 4), ("touch", 118, 9, 3), ("mkdir", 120, 9, 3)]
    postgres = report.hung_tasks[0]
    assert postgres.trace is not None
    assert postgres.trace.task == "postgres (state D)"
    assert functions(postgres.trace, "TASK")[:3] == ["__schedule", "schedule", "percpu_rwsem_wait"]
    assert report.other_traces == []  # every trace belongs to a hung task, the OOM kill or the panic


def test_real_oom_kill_is_one_event_from_three_messages() -> None:
    (oom,) = report_for("debian12-oom-hung-tasks-nmi.dmesg").oom_kills

    assert (oom.invoked_by, oom.victim_comm, oom.victim_pid) == ("awk", "awk", 111)
    assert (oom.constraint, oom.memory_cgroup) == ("CONSTRAINT_NONE", False)
    assert (oom.total_vm_kb, oom.anon_rss_kb) == (375000, 252344)
    assert "out_of_memory" in functions(oom.trace)


def test_real_console_log_with_an_ignored_nmi() -> None:
    text = corpus_text("debian12-nmi-ignored.console.log")
    report = report_for("debian12-nmi-ignored.console.log")

    assert "\r\n" in text  # the serial console's own line endings
    assert report.panic_cause is PanicCause.NMI_IGNORED
    assert (report.panic_line, report.unknown_nmis, report.ignored_nmis) == (None, 1, 1)
    assert report.kernel_release == "6.1.0-56-amd64"
    assert report.kdump_loaded is None  # no "CPU: ..." line to tell
    assert report.last_lines_end == "end_of_log"
    assert report.last_lines[-1] == "[    8.559778] reboot: Power down"
    assert not any(line.endswith("\r") for line in report.last_lines)


def test_rhel8_ebs_stall_hung_tasks_io_errors_and_nmi() -> None:
    report = report_for("rhel8-ebs-stall-nmi-panic.vmcore-dmesg.txt")

    assert report.kernel_release == "4.18.0-513.5.1.el8_9.x86_64"  # no banner: from "Not tainted ..."
    assert report.panic_cause is PanicCause.DIAGNOSTIC_NMI
    hung = [(t.comm, t.pid, t.blocked_seconds) for t in report.hung_tasks]
    assert hung == [("xfsaild/nvme1n1", 1342, 120), ("mysqld", 2291, 120), ("kworker/u8:3", 31877, 120)]
    xfsaild, mysqld, _ = report.hung_tasks
    assert xfsaild.trace is not None
    log_force = next(f for f in xfsaild.trace.frames if f.function == "xlog_wait_on_iclog")
    assert (log_force.module, log_force.context) == ("xfs", None)  # 4.18 prints no <TASK> marker
    assert mysqld.trace is not None and mysqld.trace.rip == "0x7f8d2c5e1a27"
    io = [(f.text.split(",")[0], f.count) for f in report.findings if f.kind is FindingKind.IO_ERROR]
    assert io == [
        ("nvme nvme1: I/O 327 QID 2 timeout", 3),
        ("nvme nvme1: I/O 327 QID 2 timeout", 1),
        ("blk_update_request: I/O error", 2),
    ]


def test_rhel8_panic_trace_frames_after_the_nmi_stack_have_no_marker() -> None:
    trace = report_for("rhel8-ebs-stall-nmi-panic.vmcore-dmesg.txt").panic_trace

    assert trace is not None and trace.rip == "native_safe_halt+0xe/0x10"
    assert functions(trace, "NMI")[:2] == ["dump_stack", "panic"]
    assert functions(trace, None)[:2] == ["default_idle", "default_idle_call"]


def test_soft_lockups_repeat_into_one_event_per_cpu_and_task() -> None:
    report = report_for("al2023-soft-lockups-nmi-panic.console.log")

    lockups = [(x.kind, x.cpu, x.comm, x.pid, x.stuck_seconds, x.reports) for x in report.lockups]
    assert lockups == [("soft", 3, "kworker/3:2", 8812, 49, 2), ("soft", 1, "java", 4120, 22, 1)]
    assert report.kernel_release == "6.1.79-99.164.amzn2023.x86_64"  # caller ids "[    C3]" stripped
    assert report.panic_cause is PanicCause.DIAGNOSTIC_NMI


def test_soft_lockup_trace_takes_the_rip_printed_above_it() -> None:
    kworker = report_for("al2023-soft-lockups-nmi-panic.console.log").lockups[0]

    assert kworker.trace is not None
    assert kworker.trace.rip == "native_queued_spin_lock_slowpath+0x1bb/0x2e0"
    assert kworker.trace.task == "kworker/3:2 (pid 8812) on CPU 3"
    first, second = kworker.trace.frames[:2]
    assert (first.function, first.module) == ("_raw_spin_lock_irqsave", None)
    assert (second.function, second.module) == ("ena_com_wait_and_process_admin_cq", "ena")


def test_hard_lockup_panic_is_not_our_interrupt() -> None:
    report = report_for("debian12-hard-lockup-panic.dmesg")

    assert report.panic_line == "Kernel panic - not syncing: Hard LOCKUP"
    assert report.panic_cause is PanicCause.OTHER
    assert report.kernel_release == "6.1.0-18-amd64"
    (lockup,) = report.lockups
    assert (lockup.kind, lockup.cpu, lockup.comm, lockup.stuck_seconds) == ("hard", 42, None, None)
    assert lockup.trace is not None and lockup.trace.task == "fio (pid 214731) on CPU 42"
    assert functions(lockup.trace)[:2] == ["_raw_spin_lock_irqsave", "nvme_poll_cq"]
    assert "watchdog_overflow_callback.cold" in functions(report.panic_trace, "NMI")


def test_rcu_stalls_name_the_stalled_cpu_and_own_their_nmi_backtraces() -> None:
    report = report_for("ubuntu22-rcu-stall-nmi-panic.dmesg")

    stalls = [(s.flavor, s.kind, s.cpus, s.jiffies) for s in report.rcu_stalls]
    assert stalls == [("rcu_sched", "self_detected", [1], 15000), ("rcu_sched", "detected", [1], 78017)]
    self_detected, detected = report.rcu_stalls
    assert self_detected.trace is not None and self_detected.trace.rip == "find_get_entries+0x12c/0x1d0"
    assert "rcu_dump_cpu_stacks" in functions(self_detected.trace, "IRQ")
    assert functions(detected.trace, "TASK")[0] == "truncate_inode_pages_range"
    assert report.other_traces == []
    assert report.panic_cause is PanicCause.DIAGNOSTIC_NMI


def test_journal_log_without_panic_memcg_oom_and_a_warning() -> None:
    report = report_for("ubuntu22-memcg-oom-warning.journal.txt")

    assert report.panic_cause is PanicCause.NONE
    assert (report.kernel_release, report.kdump_loaded) == ("5.15.0-1051-aws", False)
    (oom,) = report.oom_kills
    assert (oom.invoked_by, oom.victim_comm, oom.victim_pid) == ("java", "java", 20188)
    assert (oom.constraint, oom.memory_cgroup, oom.anon_rss_kb) == ("CONSTRAINT_MEMCG", True, 2083844)
    assert "mem_cgroup_out_of_memory" in functions(oom.trace, "TASK")
    (warning,) = report.findings
    assert warning.kind is FindingKind.WARNING
    assert warning.text == "WARNING: CPU: 1 PID: 0 at net/sched/sch_generic.c:477 dev_watchdog+0x21f/0x230"
    assert warning.trace is not None and warning.trace.frames[0].context == "IRQ"
    assert not warning.trace.frames[0].reliable
    assert report.last_lines[-1].endswith("now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB")


def test_oops_then_fatal_exception_is_a_panic_of_its_own() -> None:
    report = report_for("al2-gpf-fatal-exception.vmcore-dmesg.txt")

    assert report.panic_line == "Kernel panic - not syncing: Fatal exception"
    assert report.panic_cause is PanicCause.OTHER
    assert report.panic_trace is None  # the oops already printed the stack; panic() does not repeat it
    assert report.kernel_release == "5.10.205-195.807.amzn2.x86_64"
    assert [f.kind for f in report.findings] == [FindingKind.WARNING, FindingKind.GENERAL_PROTECTION_FAULT]
    fault = report.findings[1]
    assert fault.trace is not None and fault.trace.rip == "acme_flush_work+0x62/0x140 [acme_agent]"
    assert functions(fault.trace)[0] == "process_one_work"
