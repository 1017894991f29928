"""Lockup signs, stack groups and the one-line culprit, from CPUs and tasks (no dump needed)."""

from panic_button.logic.vmcore_culprit import culprit, wait_hint
from panic_button.logic.vmcore_signs import LONG_RUNNING_SECONDS, lockup_signs, signature, stack_groups
from panic_button.models.vmcore import LockupKind

from .tasks import FROZEN_WRITER_FRAMES, MUTEX_WAITER_FRAMES, idle_cpu, on_cpu, task

SPIN = [("0x444d03", False)]


def test_signature_starts_below_the_scheduler_and_skips_inlined_wrappers() -> None:
    writer = task(113, "dd", FROZEN_WRITER_FRAMES)

    assert signature(writer) == ["percpu_rwsem_wait", "__percpu_down_read", "mnt_want_write"]


def test_identical_waiters_are_one_group_with_a_count_biggest_first() -> None:
    writers = [task(pid, "dd", FROZEN_WRITER_FRAMES) for pid in range(100, 137)]
    renamer = task(200, "mv", MUTEX_WAITER_FRAMES)

    groups = stack_groups([renamer, *writers])

    assert [(group.count, group.signature[0]) for group in groups] == [(37, "percpu_rwsem_wait"), (1, "__mutex_lock")]
    assert groups[0].tasks[:2] == ["dd (pid 100)", "dd (pid 101)"]
    assert len(groups[0].tasks) == 5  # examples only; the count carries the rest


def test_blocked_group_is_the_culprit_with_what_it_waits_for() -> None:
    writers = [task(pid, "dd", FROZEN_WRITER_FRAMES) for pid in range(100, 137)]
    cpus = [idle_cpu(0), idle_cpu(1)]
    signs = lockup_signs(cpus)

    line = culprit(cpus, signs, stack_groups(writers), wait_hint(writers[0]))

    assert signs == []  # idle CPUs are no lockup, however long swapper has been on them
    assert line == (
        "37 tasks blocked in percpu_rwsem_wait <- __percpu_down_read <- mnt_want_write (filesystem frozen?): "
        "dd (pid 100), dd (pid 101), dd (pid 102), ..."
    )


def test_rt_tasks_holding_every_cpu_lead_the_culprit_even_with_blocked_tasks() -> None:
    # Preempted now and then by RT kthreads: a short last arrival, but nearly all of the CPU since they started
    spinners = [task(pid, "spin", SPIN, state="R", policy="SCHED_FIFO", held=0.5, used=5.2, share=0.99, user=True)
                for pid in (123, 124)]  # fmt: skip
    cpus = [on_cpu(0, spinners[0]), on_cpu(1, spinners[1])]
    blocked = [task(300, "kworker/0:1", MUTEX_WAITER_FRAMES)]
    signs = lockup_signs(cpus)

    line = culprit(cpus, signs, stack_groups(blocked), None)

    assert [(sign.kind, sign.cpu) for sign in signs] == [(LockupKind.RT_MONOPOLY, 0), (LockupKind.RT_MONOPOLY, 1)]
    assert line == "CPU 0 and CPU 1 monopolised by SCHED_FIFO tasks spin (pid 123, 124) in user space"


def test_short_rt_bursts_and_momentary_irqs_off_are_no_lockup() -> None:
    migration = task(16, "migration/0", [("_flat_send_IPI_mask", False)], state="R", policy="SCHED_FIFO",
                     held=0.0001, used=0.02, share=0.003)  # fmt: skip
    cpus = [on_cpu(0, migration, irqs_disabled=True), idle_cpu(1)]

    assert lockup_signs(cpus) == []
    assert culprit(cpus, [], [], None) == "no lockup sign in the dump: no task in D state, no CPU held for long"


def test_a_kernel_task_spinning_with_irqs_off_is_named() -> None:
    held = LONG_RUNNING_SECONDS + 20
    spinner = task(77, "insmod", [("native_queued_spin_lock_slowpath", False), ("my_init", False)], state="R",
                   held=held)  # fmt: skip
    cpus = [on_cpu(1, spinner, irqs_disabled=True), idle_cpu(0)]
    signs = lockup_signs(cpus)

    assert {sign.kind for sign in signs} == {LockupKind.LONG_RUNNING, LockupKind.IRQS_OFF}
    assert culprit(cpus, signs, [], None) == (
        "CPU 1: insmod (pid 77) interrupts were off when the NMI came, in native_queued_spin_lock_slowpath"
    )


def test_wait_hints_name_the_lock_kind() -> None:
    assert wait_hint(task(1, "mv", MUTEX_WAITER_FRAMES)) == "a mutex someone holds"
    assert wait_hint(task(2, "cat", [("__schedule", False), ("schedule", False), ("pipe_read", False)])) is None
