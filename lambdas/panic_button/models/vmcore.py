"""What the analysis of the vmcore itself found: CPUs, blocked tasks, lockup signs and the culprit.

Built from the dump with drgn (logic/vmcore_analysis.py); the kernel-log triage (models/triage.py)
rides along as a section of the same DumpReport.
"""

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from panic_button.models.triage import TriageReport


class Frame(BaseModel):
    function: str | None  # None when no symbol covers the address
    address: str  # "0xffffffff8a2b3c4d"
    source: str | None = None  # "fs/super.c:1697:2", with debug info only
    inlined: bool = False

    def __str__(self) -> str:
        name = self.function or self.address
        return f"{name} ({self.source})" if self.source else name


class TaskStack(BaseModel):
    pid: int
    comm: str
    state: str  # task_state_to_char: "R", "S", "D", "I", ...
    cpu: int
    policy: str  # "SCHED_NORMAL", "SCHED_FIFO", ...
    rt_priority: int = 0
    # rq clock minus the task's sched_info.last_arrival: how long ago it last got a CPU.
    since_last_arrival_seconds: float | None = None
    # se.sum_exec_runtime, and its share of the rq clock since the task started: a task preempted now
    # and then by RT kthreads has a short last arrival, but still a share near 1.0.
    cpu_seconds: float | None = None
    cpu_share: float | None = None
    in_user_space: bool = False  # the NMI interrupted it in user mode (running tasks only)
    frames: list[Frame] = Field(default_factory=list)
    stack_error: str | None = None  # why the unwinder gave up, when it did

    @property
    def label(self) -> str:
        return f"{self.comm} (pid {self.pid})"


class CpuState(BaseModel):
    cpu: int
    task: TaskStack  # current task at NMI time; swapper/N when idle
    idle: bool
    irqs_disabled: bool | None = None  # RFLAGS.IF clear in the interrupted context; None: unknown


class StackGroup(BaseModel):
    """Tasks whose stacks share their top functions: 200 identical waiters are one line."""

    signature: list[str]  # top function names, innermost first
    state: str
    count: int
    tasks: list[str]  # "comm (pid N)", the first few


class LockupKind(StrEnum):
    LONG_RUNNING = "long_running"  # the CPU's current task has not switched for a long time
    RT_MONOPOLY = "rt_monopoly"  # an RT task holds the CPU (with throttling off it never yields)
    IRQS_OFF = "irqs_off"  # the CPU was running with interrupts disabled when the NMI came


class LockupSign(BaseModel):
    kind: LockupKind
    cpu: int
    task: str  # "pb-spin (pid 123)"
    detail: str


class KernelSummary(BaseModel):
    release: str | None = None
    build_id: str | None = None
    uptime_seconds: float | None = None
    taint: str = ""  # the kernel's own letters ("G     O"), empty when untainted
    load_average: list[float] = Field(default_factory=list)  # 1, 5 and 15 minutes
    memory_total_kb: int | None = None
    memory_free_kb: int | None = None
    panic_message: str | None = None


class MissingSymbols(BaseModel):
    """The dump could not be typed: what to add, and what it still offered without types."""

    release: str | None
    build_id: str | None
    package: str | None  # "linux-image-6.1.0-57-amd64-dbg"
    how_to_add: list[str]  # exact commands
    kallsyms_symbols: int | None = None  # names load_vmlinux_kallsyms found in the dump
    crash_time: int | None = None  # vmcoreinfo CRASHTIME, seconds since the epoch
    looked_in: list[str] = Field(default_factory=list)  # "<where>: <why not>", each source asked, in order


class DebuginfodMiss(BaseModel):
    server: str
    reason: str  # "404 Not Found", "timed out", "build ID mismatch: ...", ...


class DebuginfodFetch(BaseModel):
    """What the debuginfod servers answered: the one that had the vmlinux, and every miss before it."""

    served_by: str | None = None
    misses: list[DebuginfodMiss] = Field(default_factory=list)


# unavailable: the function that ran it has no drgn; too_large: the dump exceeds its ephemeral storage.
AnalysisStatus = Literal["analysed", "no_symbols", "failed", "too_large", "unavailable"]


class VmcoreAnalysis(BaseModel):
    status: AnalysisStatus
    kernel: KernelSummary = Field(default_factory=KernelSummary)
    cpus: list[CpuState] = Field(default_factory=list)
    blocked_tasks: list[TaskStack] = Field(default_factory=list)  # every task in D state
    stack_groups: list[StackGroup] = Field(default_factory=list)
    lockup_signs: list[LockupSign] = Field(default_factory=list)
    culprit: str | None = None
    missing_symbols: MissingSymbols | None = None
    error: str | None = None  # status "failed" / "too_large": why, and what to run instead
    blocked_tasks_truncated: bool = False
    elapsed_seconds: float | None = None
    symbols_source: str | None = None  # where the vmlinux came from: s3://.../symbols/..., a debuginfod URL


class DumpReport(BaseModel):
    """report.json beside the dump: the culprit first, the vmcore analysis, then the kernel-log triage."""

    culprit: str | None
    vmcore: VmcoreAnalysis | None
    kernel_log: TriageReport | None
    dump: str | None = None  # where the dump is (s3:// URI or local path): the report says how to open it
