"""What triage found in a kernel log (`vmcore-dmesg.txt`, `dmesg.<stamp>` or console output).

Line numbers are 1-based positions in the log as given, so a reader can jump to the evidence.
"""

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field


class PanicCause(StrEnum):
    DIAGNOSTIC_NMI = "diagnostic_nmi"  # our interrupt made the kernel panic: kdump had its chance
    NMI_IGNORED = "nmi_ignored"  # the kernel saw an unknown NMI and carried on (unknown_nmi_panic=0)
    NMI_SEEN = "nmi_seen"  # an unknown NMI, but the log ends before the kernel panicked or carried on
    OTHER = "other"  # the kernel panicked for its own reason
    NONE = "none"  # no panic and no unknown NMI in the log


class StackFrame(BaseModel):
    function: str  # symbol, or a bare address when the kernel could not resolve one
    offset: str | None = None  # "+0x2f0/0x8a0"
    module: str | None = None  # "ext4" for "[ext4]" frames
    reliable: bool = True  # False for frames the unwinder printed with "? "
    context: str | None = None  # stack the frame ran on: "NMI", "IRQ", "TASK", ... when marked

    def __str__(self) -> str:
        unreliable = "" if self.reliable else "? "
        module = f" [{self.module}]" if self.module else ""
        return f"{unreliable}{self.function}{self.offset or ''}{module}"


class CallTrace(BaseModel):
    line_number: int  # the "Call Trace:" line
    produced_by: str  # the event it belongs to, or the task that printed it
    task: str | None = None  # "swapper/0 (pid 0) on CPU 0", from the "CPU: ..." line before the trace
    rip: str | None = None  # where the interrupted CPU was: "native_safe_halt+0xb/0x10"
    frames: list[StackFrame] = Field(default_factory=list)  # top frames of each stack context
    omitted_frames: int = 0  # frames beyond the top ones, across contexts


class HungTask(BaseModel):
    comm: str
    pid: int
    blocked_seconds: int  # the largest "more than N seconds" any report gave: a lower bound
    reports: int = 1  # the detector repeats itself while the task stays blocked
    line_number: int  # first report
    trace: CallTrace | None = None


class Lockup(BaseModel):
    kind: Literal["soft", "hard"]
    cpu: int
    stuck_seconds: int | None = None  # soft lockups only; the longest report
    comm: str | None = None  # task on the CPU (soft lockups name it)
    pid: int | None = None
    reports: int = 1
    line_number: int
    trace: CallTrace | None = None


RcuStallKind = Literal["self_detected", "detected", "expedited"]


class RcuStall(BaseModel):
    flavor: str  # "rcu_sched", "rcu_preempt", ...
    kind: RcuStallKind
    cpus: list[int] = Field(default_factory=list)  # stalled CPUs the report lists
    jiffies: int | None = None  # "t=21002 jiffies": how long the grace period had been waiting
    line_number: int
    trace: CallTrace | None = None


class OomKill(BaseModel):
    invoked_by: str | None = None  # task whose allocation invoked the OOM killer
    constraint: str | None = None  # "CONSTRAINT_NONE", "CONSTRAINT_MEMCG", ...
    memory_cgroup: bool = False  # a cgroup limit, not the whole machine, ran out
    victim_comm: str | None = None  # None when the killer found nothing to kill
    victim_pid: int | None = None
    total_vm_kb: int | None = None
    anon_rss_kb: int | None = None
    line_number: int
    trace: CallTrace | None = None


class FindingKind(StrEnum):
    BUG = "bug"  # "BUG: ...", "kernel BUG at ..."
    GENERAL_PROTECTION_FAULT = "general_protection_fault"
    WARNING = "warning"  # "WARNING: CPU: 1 PID: 2 at fs/...", lockdep reports
    HARDWARE_ERROR = "hardware_error"  # machine checks: "[Hardware Error]"
    IO_ERROR = "io_error"  # block layer I/O errors, NVMe (EBS) command timeouts
    FILESYSTEM_ERROR = "filesystem_error"  # ext4/xfs errors and shutdowns


class Finding(BaseModel):
    kind: FindingKind
    text: str  # the first such message
    count: int = 1  # messages that differ only in numbers are one finding
    line_number: int
    trace: CallTrace | None = None


class TriageReport(BaseModel):
    kernel_release: str | None = None
    kernel_build: str | None = None  # the distro's package version from the banner: "Debian 6.1.192-3"
    panic_line: str | None = None  # "Kernel panic - not syncing: NMI: Not continuing"
    panic_line_number: int | None = None
    panic_cause: PanicCause = PanicCause.NONE
    panic_trace: CallTrace | None = None
    unknown_nmis: int = 0  # "Uhhuh. NMI received for unknown reason ..." lines
    ignored_nmis: int = 0  # "Dazed and confused, but trying to continue" lines
    kdump_loaded: bool | None = None  # from "Kdump: loaded" on "CPU: ..." lines; None: no such line
    hung_tasks: list[HungTask] = Field(default_factory=list)
    lockups: list[Lockup] = Field(default_factory=list)
    rcu_stalls: list[RcuStall] = Field(default_factory=list)
    oom_kills: list[OomKill] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    other_traces: list[CallTrace] = Field(default_factory=list)  # traces no event above claimed
    events_truncated: bool = False  # a list hit its cap; the log held more
    last_lines: list[str] = Field(default_factory=list)  # the lines before the panic, or the log's end
    last_lines_end: Literal["panic", "end_of_log"] = "end_of_log"
    line_count: int = 0


MAX_EVENTS_PER_KIND = 100  # each list above stops here; events_truncated says so
TriageEvent = HungTask | Lockup | RcuStall | OomKill | Finding
