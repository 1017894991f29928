"""Line formats and small logs: prefixes, frames, causes, fallbacks and how traces find their event."""

import pytest
from panic_button.logic.kernel_log_patterns import message_of, parse_frame
from panic_button.logic.triage import MAX_EVENTS_PER_KIND, triage_kernel_log
from panic_button.models.triage import PanicCause

PANIC = "Kernel panic - not syncing: NMI: Not continuing"


@pytest.mark.parametrize(
    "line",
    [
        f"[   26.516029] {PANIC}",  # vmcore-dmesg, makedumpfile --dump-dmesg
        f"[   26.516029][    C0] {PANIC}",  # CONFIG_PRINTK_CALLER, interrupt context
        f"[   26.516029][ T8812] {PANIC}",  # CONFIG_PRINTK_CALLER, task context
        f"<0>[   26.516029] {PANIC}",  # dmesg -r
        f"<0>{PANIC}",
        f"[Fri Nov 27 09:01:02 2026] {PANIC}",  # dmesg -T
        f"Nov 27 09:01:02 ip-172-31-5-10 kernel: {PANIC}",  # journalctl -k, syslog
        f"2026-11-27T09:01:02.123456+00:00 ip-172-31-5-10 kernel: {PANIC}",  # journalctl -o short-iso
        f"  {PANIC}  ",
    ],
)
def test_message_of_strips_every_prefix(line: str) -> None:
    assert message_of(line) == PANIC


def test_message_of_unescapes_tabs_from_vmcore_dmesg() -> None:
    assert message_of("[ 4301.2] rcu: \\x091-....: (14997 ticks this GP)") == "rcu:  1-....: (14997 ticks this GP)"


@pytest.mark.parametrize(
    ("line", "function", "offset", "module", "reliable"),
    [
        (" __schedule+0x2f0/0x8a0", "__schedule", "+0x2f0/0x8a0", None, True),
        (" ? __schedule+0x2f0/0x8a0", "__schedule", "+0x2f0/0x8a0", None, False),
        (" nmi_panic.cold+0xc/0xc", "nmi_panic.cold", "+0xc/0xc", None, True),
        (" xfs_log_force+0x132/0x250 [xfs]", "xfs_log_force", "+0x132/0x250", "xfs", True),
        (" ext4_map_blocks+0x9c/0x5e0 [ext4 3f2b1c0de4a5]", "ext4_map_blocks", "+0x9c/0x5e0", "ext4", True),
        (" [<ffffffff8168a3d9>] schedule+0x29/0x70", "schedule", "+0x29/0x70", None, True),  # RHEL 7
        (" [<ffffffff8168a3d9>] ? __schedule+0x2f0/0x8a0", "__schedule", "+0x2f0/0x8a0", None, False),
        (" ? 0xffffffffc0a1b2c3", "0xffffffffc0a1b2c3", None, None, False),  # unresolved address
        (" show_stack+0x20/0x38 (C)", "show_stack", "+0x20/0x38", None, True),  # arm64 6.x
    ],
)
def test_parse_frame(line: str, function: str, offset: str | None, module: str | None, reliable: bool) -> None:
    frame = parse_frame(message_of(f"[    1.000000] {line}"), "TASK")

    assert frame is not None
    assert (frame.function, frame.offset, frame.module, frame.reliable) == (function, offset, module, reliable)
    assert frame.context == "TASK"


@pytest.mark.parametrize("line", ["RIP: 0010:native_safe_halt+0xb/0x10", "Call Trace:", "<NMI>", "hello world"])
def test_parse_frame_rejects_lines_that_are_not_frames(line: str) -> None:
    assert parse_frame(line, None) is None


def test_unknown_nmi_without_verdict_is_only_seen() -> None:
    # Console output: the panic text never reaches the serial port before kexec (see kdump-qemu.md).
    report = triage_kernel_log("[ 5.75] Uhhuh. NMI received for unknown reason 21 on CPU 0.\n")

    assert report.panic_cause is PanicCause.NMI_SEEN


def test_ignored_nmi_then_a_later_panic_counts_as_the_panic() -> None:
    log = "Dazed and confused, but trying to continue\nKernel panic - not syncing: sysrq triggered crash\n"

    assert triage_kernel_log(log).panic_cause is PanicCause.OTHER


def test_only_the_first_panic_counts_and_the_end_marker_is_not_one() -> None:
    log = "\n".join(
        [
            "---[ end Kernel panic - not syncing: Attempted to kill init! ]---",
            PANIC,
            "Kernel panic - not syncing: Fatal exception in interrupt",
        ]
    )
    report = triage_kernel_log(log)

    assert (report.panic_line, report.panic_line_number) == (PANIC, 2)
    assert report.last_lines == ["---[ end Kernel panic - not syncing: Attempted to kill init! ]---"]


@pytest.mark.parametrize(
    ("log", "release"),
    [
        ("Linux version 6.1.0-18-amd64 (x@y) #1\nCPU: 0 PID: 1 Comm: a Not tainted 9.9.9 #1", "6.1.0-18-amd64"),
        ("CPU: 0 PID: 1 Comm: a Tainted: G        W  OE      6.12.0-1.el10 #1", "6.12.0-1.el10"),
        ("CPU: 4 UID: 1000 PID: 1067 Comm: t Tainted: G L 6.13.0-rc3 #814", "6.13.0-rc3"),
        ("[0.0] Command line: BOOT_IMAGE=(hd0,gpt2)/vmlinuz-5.14.0-427.el9.x86_64 ro", "5.14.0-427.el9.x86_64"),
        ("nothing here", None),
    ],
)
def test_kernel_release_sources_in_order(log: str, release: str | None) -> None:
    assert triage_kernel_log(log).kernel_release == release


def test_hung_task_names_may_contain_colons_and_spaces() -> None:
    report = triage_kernel_log(
        "INFO: task kworker/u8:3:31877 blocked for more than 120 seconds.\n"
        "INFO: task Web Content:4242 blocked for more than 241 seconds.\n"
    )

    assert [(t.comm, t.pid, t.blocked_seconds) for t in report.hung_tasks] == [
        ("kworker/u8:3", 31877, 120),
        ("Web Content", 4242, 241),
    ]


def test_expedited_rcu_stall_lists_cpus_in_braces() -> None:
    (stall,) = triage_kernel_log(
        "rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 3-.... 5-...D } 21 jiffies s: 373"
    ).rcu_stalls

    assert (stall.flavor, stall.kind, stall.cpus, stall.jiffies) == ("rcu_preempt", "expedited", [3, 5], 21)


def test_old_oom_format_and_an_oom_without_victim() -> None:
    report = triage_kernel_log(
        "java invoked oom-killer: gfp_mask=0x24201ca, order=0, oom_score_adj=0\n"
        "Out of memory: Kill process 1234 (java) score 900 or sacrifice child\n"
        "Killed process 1234 (java) total-vm:8000000kB, anon-rss:6000000kB, file-rss:0kB\n"
        "sshd invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=0\n"
        "Kernel panic - not syncing: Out of memory and no killable processes...\n"
    )

    first, second = report.oom_kills
    assert (first.invoked_by, first.victim_comm, first.victim_pid, first.anon_rss_kb) == ("java", "java", 1234, 6000000)
    assert (second.invoked_by, second.victim_comm) == ("sshd", None)
    assert report.panic_cause is PanicCause.OTHER


def test_lowercase_arm64_call_trace_is_a_trace() -> None:
    report = triage_kernel_log(
        "INFO: task jbd2/nvme0n1p1-8:301 blocked for more than 122 seconds.\n"
        "Call trace:\n __switch_to+0xf8/0x150\n __schedule+0x2ac/0x8a0\n schedule+0x60/0x100\n"
    )

    assert report.hung_tasks[0].trace is not None
    assert [f.function for f in report.hung_tasks[0].trace.frames] == ["__switch_to", "__schedule", "schedule"]


def test_a_trace_far_below_any_event_is_not_attributed_to_it() -> None:
    filler = "\n".join(f"eth0: link flap {n}" for n in range(100))
    report = triage_kernel_log(
        f"BUG: scheduling while atomic: ksoftirqd/0/12/0x00000100\n{filler}\nCall Trace:\n dump_stack+0x41/0x60\n"
    )

    assert report.findings[0].trace is None
    assert [t.produced_by for t in report.other_traces] == ["unattributed"]


def test_event_lists_stop_at_their_cap() -> None:
    log = "\n".join(f"INFO: task t{n}:{n} blocked for more than 120 seconds." for n in range(150))
    report = triage_kernel_log(log)

    assert len(report.hung_tasks) == MAX_EVENTS_PER_KIND
    assert report.events_truncated


def test_findings_that_differ_only_in_numbers_are_counted_once() -> None:
    log = "\n".join(f"Buffer I/O error on dev nvme1n1, logical block {n}, lost async page write" for n in range(7))
    (finding,) = triage_kernel_log(log).findings

    assert finding.count == 7
    assert finding.text.endswith("logical block 0, lost async page write")
