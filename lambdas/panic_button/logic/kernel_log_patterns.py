"""Kernel log line formats, written from the printk calls that produce them, and per-line parsers.

Sources (Linux 4.18-6.x): kernel/panic.c, arch/x86/kernel/nmi.c, kernel/hung_task.c, kernel/watchdog.c
and watchdog_hld.c, kernel/rcu/tree_stall.h, mm/oom_kill.c, lib/dump_stack.c, arch/x86/kernel/dumpstack.c.
Every pattern runs on one line of bounded length with bounded repeats, so a scan stays linear.
"""

import re
from dataclasses import dataclass, field

from panic_button.models.triage import CallTrace, FindingKind, Lockup, RcuStall, RcuStallKind, StackFrame

# Optional prefixes in front of the kernel's own text: a syslog/journal header ("... kernel: "),
# a `dmesg -r` level ("<4>"), a timestamp ("[  12.345678]" or dmesg -T "[Mon Nov 27 09:01:02 2023]")
# and a CONFIG_PRINTK_CALLER id ("[    T123]" / "[  C0]").
_LINE_PREFIX = re.compile(
    r"(?:(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT[\d:.+-]{8,32}) \S{1,64} kernel: )?"
    r"(?:<\d{1,3}>)?"
    r"(?:\[ *\d{1,10}\.\d{1,9}\]|\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\])?"
    r"(?:\[ *[TC]\d{1,10}\])?"
)

PANIC = re.compile(r"Kernel panic - not syncing: ?(.*)")
DIAGNOSTIC_NMI_PANIC = "NMI: Not continuing"  # unknown_nmi_error() with kernel.unknown_nmi_panic=1
HUNG_TASK = re.compile(r"INFO: task (.{1,64}):(\d+) blocked for more than (\d+) seconds")
_SOFT_LOCKUP = re.compile(r"BUG: soft lockup - CPU#(\d+) stuck for (\d+)s! \[(.{0,64}):(\d+)\]")
_HARD_LOCKUP = re.compile(r"Watchdog detected hard LOCKUP on cpu (\d+)")
_RCU_STALL = re.compile(r"INFO: (\w+) (self-detected stall|detected stalls|detected expedited stalls) on CPU")
_RCU_STALL_KINDS: dict[str, RcuStallKind] = {
    "self-detected stall": "self_detected",
    "detected stalls": "detected",
    "detected expedited stalls": "expedited",
}
_RCU_STALLED_CPU = re.compile(r"^(?:rcu:\s+)?(\d+)-\S{1,8}: \(")  # "rcu: \t3-...!: (0 ticks this GP) ..."
_RCU_EXPEDITED_CPUS = re.compile(r"\{([^}]{0,512})\}")  # "... on CPUs/tasks: { 3-.... } 21 jiffies"
_RCU_JIFFIES = re.compile(r"\bt=(\d+) jiffies|\} (\d+) jiffies")
OOM_INVOKED = re.compile(r"^(.{1,64}?) invoked oom-killer: ")
OOM_SUMMARY = re.compile(r"oom-kill:constraint=(\w+),.{0,512}?\btask=(.{0,64}?),pid=(\d+),uid=")
OOM_KILLED = re.compile(
    r"(?:(Out of memory|Memory cgroup out of memory): )?Killed process (\d+) \((.{0,64})\)"
    r" total-vm:(\d+)kB, anon-rss:(\d+)kB"
)
CPU_LINE = re.compile(r"^CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (.{1,20}?) (?:Kdump: loaded )?(?:Not )?[Tt]ainted")
RELEASE_AFTER_TAINT = re.compile(r"(?:Not tainted|Tainted: [A-Z ]{0,40}?) +(\d[^\s#]{0,100}) +#")
LINUX_BANNER = re.compile(r"^Linux version (\S{1,100})")
# The distro's package version on the same banner: "... Debian 6.1.192-3 (2026-11-16)" or
# "... (Ubuntu 5.15.0-1051.56-aws 5.15.131)". RPM kernels carry it in the release itself.
DISTRO_BUILD = re.compile(r"\b(Debian \d[\w.+~-]{0,60}) \(\d{4}-\d\d-\d\d\)|\((Ubuntu \d[\w.+~-]{0,60}) \d")
BOOT_IMAGE = re.compile(r"BOOT_IMAGE=(?:\S{0,200}/)?vmlinuz-(\S{1,100})")
NMI_BACKTRACE = re.compile(r"^NMI backtrace for cpu (\d+)")
SCHED_TASK = re.compile(r"^task:(.{1,15}?) +state:(\w)")  # sched_show_task(), under a hung task report
RIP = re.compile(r"^RIP: [0-9a-f]{4}:(.{1,200})")

# Inside a "Call Trace:" block.
_STACK_MARKER = re.compile(r"^<(/?)([#\w]{1,24})>$")  # " <NMI>", " </IRQ>", " <TASK>", old " <EOI>"
_FRAME = re.compile(
    r"^(?:\[<[0-9a-f]{1,16}>\] +)?(\? +)?([^\s+?\[][^\s+]{0,200})\+(0x[0-9a-f]{1,16}/0x[0-9a-f]{1,16})"
    r"(?: +\[([\w-]{1,64})[^\]]{0,100}\])?"
)
_ADDRESS_FRAME = re.compile(r"^(\? +)?(0x[0-9a-f]{6,16})$")
_REGISTER_DUMP = re.compile(r"^(?:RIP|RSP|RAX|RDX|RBP|R\d{1,2}|FS|CS|CR\d|DR\d|PKRU|Code|ORIG_RAX) {0,3}:")

# Warnings and errors reported as generic findings: (needle for a cheap pre-check, kind, pattern).
FINDINGS: list[tuple[str, FindingKind, re.Pattern[str]]] = [
    ("BUG", FindingKind.BUG, re.compile(r"^(?:BUG: (?!soft lockup)|kernel BUG at )")),
    ("protection fault", FindingKind.GENERAL_PROTECTION_FAULT, re.compile(r"^(?:Oops: )?general protection")),
    ("WARNING:", FindingKind.WARNING, re.compile(r"^WARNING: ")),
    ("Hardware Error", FindingKind.HARDWARE_ERROR, re.compile(r"\[Hardware Error\]: ")),
    ("I/O error", FindingKind.IO_ERROR, re.compile(r"(?:^|: )I/O error, dev |^Buffer I/O error on dev ")),
    ("timeout", FindingKind.IO_ERROR, re.compile(r"^nvme nvme\d{1,4}: I/O .{0,80}?QID \d{1,5} timeout")),
    ("EXT4-fs", FindingKind.FILESYSTEM_ERROR, re.compile(r"^EXT4-fs (?:error|\(\S{1,64}\): Remounting)")),
    ("XFS (", FindingKind.FILESYSTEM_ERROR, re.compile(r"^XFS \(\S{1,64}\): .{0,200}?(?:[Ss]hut|I/O error)")),
]
_NUMBERS = re.compile(r"0x[0-9a-f]+|[0-9a-f]{8,}|\d+")


def message_of(line: str) -> str:
    """The kernel's own text on a log line, without timestamp, level or caller prefixes."""
    prefix = _LINE_PREFIX.match(line)
    message = line[prefix.end() :] if prefix else line
    # vmcore-dmesg and makedumpfile escape non-printable bytes: RCU stall lines carry tabs.
    return message.replace("\\x09", " ").strip()


def finding_key(kind: FindingKind, message: str) -> str:
    """Messages that differ only in numbers (sectors, addresses, PIDs) count as one finding."""
    return f"{kind}:{_NUMBERS.sub('#', message)}"


def parse_lockup(number: int, message: str) -> Lockup | None:
    if soft := _SOFT_LOCKUP.search(message):
        cpu, seconds, comm, pid = soft.groups()
        return Lockup(
            kind="soft", cpu=int(cpu), stuck_seconds=int(seconds), comm=comm, pid=int(pid), line_number=number
        )
    if hard := _HARD_LOCKUP.search(message):
        return Lockup(kind="hard", cpu=int(hard.group(1)), line_number=number)
    return None


def parse_rcu_stall(number: int, message: str) -> RcuStall | None:
    stall = _RCU_STALL.search(message)
    if stall is None:
        return None
    return RcuStall(flavor=stall.group(1), kind=_RCU_STALL_KINDS[stall.group(2)], line_number=number)


def add_rcu_stall_detail(stall: RcuStall, message: str) -> None:
    """The lines under a stall report name the stalled CPUs and how long the grace period waited."""
    cpu = _RCU_STALLED_CPU.match(message)
    if cpu and int(cpu.group(1)) not in stall.cpus:
        stall.cpus.append(int(cpu.group(1)))
    if stall.kind == "expedited" and (braces := _RCU_EXPEDITED_CPUS.search(message)):
        stall.cpus.extend(int(c.split("-")[0]) for c in braces.group(1).split() if c[:1].isdigit())
    jiffies = _RCU_JIFFIES.search(message)
    if jiffies and stall.jiffies is None:
        stall.jiffies = int(jiffies.group(1) or jiffies.group(2))


def parse_frame(message: str, context: str | None) -> StackFrame | None:
    """One frame of a call trace: " ? __schedule+0x2f0/0x8a0 [ext4]" or a bare address."""
    frame = _FRAME.match(message)
    if frame:
        unreliable, function, offset, module = frame.groups()
        return StackFrame(
            function=function, offset=f"+{offset}", module=module, reliable=not unreliable, context=context
        )
    address = _ADDRESS_FRAME.match(message)
    if address:
        return StackFrame(function=address.group(2), reliable=not address.group(1), context=context)
    return None


@dataclass
class TraceBlock:
    """The lines of one "Call Trace:" block: stack markers, frames and the register dump inside it.

    Only the top frames of each stack (NMI, IRQ, TASK, ...) are kept: the NMI part of a diagnostic
    panic is always the same handler chain, and the task part below it is the interesting one.
    """

    line_number: int
    frames_per_stack: int
    rip: str | None = None
    stack: str | None = None
    frames: list[StackFrame] = field(default_factory=list)
    kept_per_stack: dict[str | None, int] = field(default_factory=dict)
    omitted_frames: int = 0

    def take(self, message: str) -> bool:
        """Consume a line of the block; False means the block ended before this line."""
        marker = _STACK_MARKER.match(message)
        if marker:
            closing, name = marker.groups()
            self.stack = None if closing or name == "EOI" else name
            return True
        frame = parse_frame(message, self.stack)
        if frame:
            kept = self.kept_per_stack.get(self.stack, 0)
            if kept < self.frames_per_stack:
                self.frames.append(frame)
                self.kept_per_stack[self.stack] = kept + 1
            else:
                self.omitted_frames += 1
            return True
        if _REGISTER_DUMP.match(message):
            rip = RIP.match(message)
            if rip and self.rip is None:
                self.rip = rip.group(1)
            return True
        return message == "<<EOE>>"

    def build(self, produced_by: str, task: str | None) -> CallTrace:
        return CallTrace(
            line_number=self.line_number,
            produced_by=produced_by,
            task=task,
            rip=self.rip,
            frames=self.frames,
            omitted_frames=self.omitted_frames,
        )
