"""Lockup signs and stack groups, read from the analysed CPUs and tasks (no drgn needed here)."""

from collections import Counter

from panic_button.models.vmcore import CpuState, LockupKind, LockupSign, StackGroup, TaskStack

# A current task that has held its CPU this long without a context switch is a lockup sign; an RT
# task needs less, since with RT throttling off nothing else ever gets that CPU back.
LONG_RUNNING_SECONDS = 3.0
RT_MONOPOLY_SECONDS = 1.0  # CPU time an RT task has used...
RT_MONOPOLY_SHARE = 0.9  # ...taking this much of its CPU since it started
SIGNATURE_DEPTH = 3
GROUP_EXAMPLES = 5
_RT_POLICIES = frozenset({"SCHED_FIFO", "SCHED_RR"})
# Frames every sleeper shares: a signature starts below them, where the task actually waits.
_SCHEDULER_FRAMES = frozenset({
    "__schedule", "schedule", "schedule_timeout", "io_schedule", "io_schedule_timeout",
    "schedule_preempt_disabled", "context_switch", "__switch_to", "__switch_to_asm", "schedule_hrtimeout_range",
    "schedule_hrtimeout_range_clock", "preempt_schedule_common", "__cond_resched",
})  # fmt: skip


def lockup_signs(cpus: list[CpuState]) -> list[LockupSign]:
    signs = []
    for state in cpus:
        if state.idle:
            continue
        task = state.task
        held = task.since_last_arrival_seconds
        where = "in user space" if task.in_user_space else f"in {_top_function(task) or 'the kernel'}"
        if task.policy in _RT_POLICIES and _monopolising(task):
            signs.append(LockupSign(
                kind=LockupKind.RT_MONOPOLY, cpu=state.cpu, task=task.label,
                detail=f"{task.policy} priority {task.rt_priority} has used {task.cpu_seconds:.1f} s of CPU, "
                f"{(task.cpu_share or 0) * 100:.0f}% of the CPU since it started, {where}",
            ))  # fmt: skip
        elif held is not None and held >= LONG_RUNNING_SECONDS:
            signs.append(LockupSign(
                kind=LockupKind.LONG_RUNNING, cpu=state.cpu, task=task.label,
                detail=f"has run {held:.1f} s without a context switch {where}",
            ))  # fmt: skip
        # Interrupts are off for moments all the time (the NMI often lands in such a moment): only a
        # task that also has not switched for long is spinning with them off.
        if state.irqs_disabled and not task.in_user_space and held is not None and held >= LONG_RUNNING_SECONDS:
            signs.append(LockupSign(
                kind=LockupKind.IRQS_OFF, cpu=state.cpu, task=task.label,
                detail=f"interrupts were off when the NMI came, {where}",
            ))  # fmt: skip
    return signs


def _monopolising(task: TaskStack) -> bool:
    used, share = task.cpu_seconds, task.cpu_share
    return used is not None and share is not None and used >= RT_MONOPOLY_SECONDS and share >= RT_MONOPOLY_SHARE


def signature(task: TaskStack, depth: int = SIGNATURE_DEPTH) -> list[str]:
    """The top function names below the scheduler, innermost first.

    Inlined frames are left out: they are lock wrappers (percpu_down_read, sb_start_write) more often
    than not, and the real calls around them say more in three names.
    """
    names = [frame.function or frame.address for frame in task.frames if not frame.inlined]
    start = 0
    while start < len(names) and names[start] in _SCHEDULER_FRAMES:
        start += 1
    return names[start : start + depth] or names[:depth]


def stack_groups(tasks: list[TaskStack]) -> list[StackGroup]:
    """Tasks grouped by state and signature, the biggest group first."""
    members: dict[tuple[str, tuple[str, ...]], list[TaskStack]] = {}
    for task in tasks:
        members.setdefault((task.state, tuple(signature(task))), []).append(task)
    counts = Counter({key: len(group) for key, group in members.items()})
    return [
        StackGroup(
            signature=list(key[1]),
            state=key[0],
            count=count,
            tasks=[task.label for task in members[key][:GROUP_EXAMPLES]],
        )
        for key, count in counts.most_common()
    ]


def _top_function(task: TaskStack) -> str | None:
    """Where the task was when the NMI came: its innermost named frame below the NMI handling."""
    names = [frame.function for frame in task.frames if frame.function]
    after_nmi = names[_after_nmi_entry(names) :]
    candidates = after_nmi or names
    return candidates[0] if candidates else None


def _after_nmi_entry(names: list[str]) -> int:
    entries = [index for index, name in enumerate(names) if name in ("asm_exc_nmi", "exc_nmi")]
    return entries[-1] + 1 if entries else 0
