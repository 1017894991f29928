"""The one-line culprit: what held the machine, named from the lockup signs and blocked stacks."""

from panic_button.models.vmcore import CpuState, LockupKind, LockupSign, StackGroup, TaskStack

# Functions in a blocked stack that say what the task waits for (checked innermost first).
_WAIT_HINTS = (
    (("__sb_start_write", "sb_start_write", "percpu_rwsem_wait", "freeze_super"), "filesystem frozen?"),
    (("jbd2_log_wait_commit", "wait_transaction_locked", "jbd2_journal_start"), "journal stalled?"),
    (("nfs_", "rpc_wait_bit_killable"), "NFS server not responding?"),
    (("blk_mq_get_tag", "folio_wait_bit", "io_schedule", "wait_on_page_bit", "bit_wait_io"), "waiting for block I/O"),
    (("rwsem_down_write_slowpath", "rwsem_down_read_slowpath"), "a rw_semaphore someone holds"),
    (("__mutex_lock",), "a mutex someone holds"),
)
_HINT_DEPTH = 12


def wait_hint(task: TaskStack) -> str | None:
    names = [frame.function or "" for frame in task.frames[:_HINT_DEPTH]]
    for markers, hint in _WAIT_HINTS:
        if any(name.startswith(marker) for name in names for marker in markers):
            return hint
    return None


def culprit(cpus: list[CpuState], signs: list[LockupSign], groups: list[StackGroup], hint: str | None) -> str:
    """RT monopoly first (it starves everything else), then the biggest blocked group, then lockups."""
    monopolised = [sign.cpu for sign in signs if sign.kind is LockupKind.RT_MONOPOLY]
    if monopolised:
        return _monopoly_line(cpus, monopolised)
    blocked = [group for group in groups if group.state == "D"]
    if blocked:
        group = blocked[0]
        tasks = "task" if group.count == 1 else "tasks"
        line = f"{group.count} {tasks} blocked in {' <- '.join(group.signature)}"
        line += f" ({hint})" if hint else ""
        return f"{line}: {', '.join(group.tasks[:3])}" + (", ..." if group.count > 3 else "")
    for kind in (LockupKind.IRQS_OFF, LockupKind.LONG_RUNNING):
        sign = next((sign for sign in signs if sign.kind is kind), None)
        if sign is not None:
            return f"CPU {sign.cpu}: {sign.task} {sign.detail}"
    busy = [state for state in cpus if not state.idle]
    if not busy:
        return "no lockup sign in the dump: every CPU idle and no task in D state"
    return "no lockup sign in the dump: no task in D state, no CPU held for long"


def _monopoly_line(cpus: list[CpuState], monopolised: list[int]) -> str:
    states = [state for state in cpus if state.cpu in monopolised]
    names = sorted({state.task.comm for state in states})
    policies = sorted({state.task.policy for state in states})
    pids = ", ".join(str(state.task.pid) for state in states)
    where = "in user space" if all(state.task.in_user_space for state in states) else "in the kernel"
    cpu_list = " and ".join(f"CPU {state.cpu}" for state in states)
    task_word = "task" if len(states) == 1 else "tasks"
    return (
        f"{cpu_list} monopolised by {'/'.join(policies)} {task_word} {', '.join(names)} "
        f"(pid {pids}) {where}"
    )
