"""Reading tasks and stacks out of a typed drgn Program into plain models (models/vmcore.py).

Everything drgn-specific about tasks lives here; lockup signs, grouping and the culprit work on
the models only, so they are tested without a dump.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from panic_button.models.vmcore import CpuState, Frame, TaskStack

MAX_FRAMES = 40  # deeper stacks are cut: the top frames say where a task waits
_KERNEL_SPACE_START = 0xFFFF_8000_0000_0000  # x86-64: addresses below are user space
_BUILD_TREE = re.compile(r"^(?:.*/)?(?:reproducible-path|build)/linux-[^/]+/")
_RFLAGS_IF = 0x200  # interrupts enabled
_NMI_ENTRY = frozenset({"asm_exc_nmi", "exc_nmi"})
_KERNEL_ENTRY_FROM_USER = frozenset({
    "entry_SYSCALL_64", "entry_SYSCALL_64_after_hwframe", "do_syscall_64", "entry_SYSCALL_compat",
    "entry_INT80_compat", "asm_exc_page_fault", "exc_page_fault",
})  # fmt: skip
_POLICIES = {0: "SCHED_NORMAL", 1: "SCHED_FIFO", 2: "SCHED_RR", 3: "SCHED_BATCH", 5: "SCHED_IDLE", 6: "SCHED_DEADLINE"}


@dataclass(frozen=True)
class _Stack:
    frames: list[Frame]
    error: str | None = None
    in_user_space: bool = False  # running tasks: user code was running (perhaps under an IRQ) when the NMI came


def cpu_states(prog: Any) -> list[CpuState]:
    from drgn.helpers.linux.cpumask import for_each_online_cpu
    from drgn.helpers.linux.sched import cpu_curr, idle_task

    states = []
    for cpu in for_each_online_cpu(prog):
        task = cpu_curr(prog, cpu)
        stack, irqs_disabled = _running_stack(prog, task)
        states.append(
            CpuState(
                cpu=cpu,
                task=_task(task, cpu=cpu, stack=stack),
                idle=task.value_() == idle_task(prog, cpu).value_(),
                irqs_disabled=irqs_disabled,
            )
        )
    return states


def blocked_tasks(prog: Any, limit: int) -> tuple[list[TaskStack], int]:
    """Tasks in D state, with stacks for the first `limit`; and how many there were in all."""
    from drgn.helpers.linux.pid import for_each_task
    from drgn.helpers.linux.sched import task_cpu, task_state_to_char

    found: list[TaskStack] = []
    total = 0
    for task in for_each_task(prog):
        if task_state_to_char(task) != "D":
            continue
        total += 1
        if len(found) < limit:
            found.append(_task(task, cpu=task_cpu(task), stack=_stack(prog, task)))
    return found, total


def _task(task: Any, *, cpu: int, stack: _Stack) -> TaskStack:
    from drgn.helpers.linux.sched import task_since_last_arrival_ns, task_state_to_char

    try:
        since = task_since_last_arrival_ns(task) / 1e9
    except (LookupError, AttributeError):  # kernels without CONFIG_SCHED_INFO
        since = None
    policy = int(task.policy)
    cpu_seconds, cpu_share = _cpu_use(task, cpu)
    return TaskStack(
        pid=int(task.pid),
        comm=task.comm.string_().decode(errors="replace"),
        state=task_state_to_char(task),
        cpu=cpu,
        policy=_POLICIES.get(policy, f"policy {policy}"),
        rt_priority=int(task.rt_priority),
        since_last_arrival_seconds=since,
        cpu_seconds=cpu_seconds,
        cpu_share=cpu_share,
        in_user_space=stack.in_user_space,
        frames=stack.frames,
        stack_error=stack.error,
    )


def _cpu_use(task: Any, cpu: int) -> tuple[float | None, float | None]:
    from drgn.helpers.linux.sched import cpu_rq

    try:
        runtime = int(task.se.sum_exec_runtime)
        # start_time is CLOCK_MONOTONIC, the rq clock sched_clock: both count from boot, close enough for a share.
        lifetime = int(cpu_rq(task.prog_, cpu).clock) - int(task.start_time)
    except (LookupError, AttributeError):
        return None, None
    share = min(1.0, runtime / lifetime) if lifetime > 0 else None
    return runtime / 1e9, None if share is None else round(share, 3)


def _running_stack(prog: Any, task: Any) -> tuple[_Stack, bool | None]:
    """A running task's stack, and whether the context the NMI interrupted had interrupts off."""
    import drgn

    try:
        trace = prog.stack_trace(task)
    except (LookupError, ValueError, drgn.FaultError) as exc:
        return _Stack([], f"no stack: {exc}"), None
    # The context the NMI landed in: the frame below the NMI entry, or the saved registers themselves
    # when the crash IPI recorded them directly (other CPUs than the one that panicked).
    frames_list = list(trace)
    entry = max((i for i, frame in enumerate(frames_list) if frame.name in _NMI_ENTRY), default=-1)
    interrupted = frames_list[entry + 1] if entry + 1 < len(frames_list) else None
    # User code, possibly inside an interrupt handler that the NMI then interrupted: the stack ends
    # in user space without passing a syscall or fault entry (those are kernel work for the task).
    below = frames_list[entry + 1 :]
    in_user_space = bool(below) and below[-1].pc < _KERNEL_SPACE_START
    in_user_space = in_user_space and not any(frame.name in _KERNEL_ENTRY_FROM_USER for frame in below)
    irqs_disabled: bool | None = None
    if interrupted is not None:
        try:
            irqs_disabled = not int(interrupted.register("rflags")) & _RFLAGS_IF
        except (LookupError, ValueError):
            irqs_disabled = None
    frames, error = _frames(trace)
    return _Stack(frames, error, in_user_space), irqs_disabled


def _stack(prog: Any, task: Any) -> _Stack:
    import drgn

    try:
        return _Stack(*_frames(prog.stack_trace(task)))
    except (LookupError, ValueError, drgn.FaultError) as exc:
        return _Stack([], f"no stack: {exc}")


def _frames(trace: Any) -> tuple[list[Frame], str | None]:
    import drgn

    frames = []
    error = None
    try:
        for frame in list(trace)[:MAX_FRAMES]:
            frames.append(_frame(frame))
    except drgn.FaultError as exc:  # a torn stack: keep what unwound
        error = f"unwinding stopped: {exc}"
    return frames, error


def _frame(frame: Any) -> Frame:
    pc = frame.pc
    name = frame.name
    if name is None or name.startswith("0x"):  # drgn names an unsymbolized frame by its address
        try:
            name = frame.symbol().name
        except LookupError:
            name = None
    try:
        filename, line, column = frame.source()
        source: str | None = f"{_kernel_relative(filename)}:{line}:{column}"
    except LookupError:
        source = None
    return Frame(function=name, address=f"{pc:#x}", source=source, inlined=bool(frame.is_inline))


def _kernel_relative(filename: str) -> str:
    # Some DWARF names sources by the build tree ("reproducible-path/linux-6.1.192/arch/..."): keep the
    # tree-relative part, as the other frames already are.
    return _BUILD_TREE.sub("", filename)
