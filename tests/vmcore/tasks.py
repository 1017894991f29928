"""Tasks and CPUs as the drgn reader would produce them, shaped after the real guest dumps."""

from panic_button.models.vmcore import CpuState, Frame, TaskStack

_ADDRESS = "0xffffffffa1a5a170"

FROZEN_WRITER_FRAMES = [
    ("context_switch", True), ("__schedule", False), ("schedule", False), ("percpu_rwsem_wait", False),
    ("__percpu_down_read", False), ("percpu_down_read", True), ("__sb_start_write", True),
    ("sb_start_write", True), ("mnt_want_write", False), ("open_last_lookups", False), ("path_openat", False),
]  # fmt: skip
MUTEX_WAITER_FRAMES = [
    ("__schedule", False), ("schedule", False), ("schedule_preempt_disabled", False), ("__mutex_lock", False),
    ("lock_rename", False), ("do_renameat2", False),
]  # fmt: skip


def task(
    pid: int,
    comm: str,
    frames: list[tuple[str, bool]],
    *,
    state: str = "D",
    policy: str = "SCHED_NORMAL",
    held: float | None = 0.3,
    used: float | None = 0.01,
    share: float | None = 0.01,
    user: bool = False,
    cpu: int = 0,
) -> TaskStack:
    return TaskStack(
        pid=pid, comm=comm, state=state, cpu=cpu, policy=policy, rt_priority=50 if policy == "SCHED_FIFO" else 0,
        since_last_arrival_seconds=held, cpu_seconds=used, cpu_share=share, in_user_space=user,
        frames=[Frame(function=name, address=_ADDRESS, inlined=inlined) for name, inlined in frames],
    )  # fmt: skip


def on_cpu(cpu: int, running: TaskStack, *, idle: bool = False, irqs_disabled: bool | None = False) -> CpuState:
    return CpuState(cpu=cpu, task=running.model_copy(update={"cpu": cpu}), idle=idle, irqs_disabled=irqs_disabled)


def idle_cpu(cpu: int, held: float = 6.0) -> CpuState:
    swapper = task(0, f"swapper/{cpu}", [("native_safe_halt", False), ("do_idle", False)], state="R", held=held)
    return on_cpu(cpu, swapper, idle=True, irqs_disabled=True)
