"""The instance's serial console: reading it, and what it says about the NMI and the crash kernel."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from panic_button.aws import error_code

# Only the end matters: what the kernel printed around and after the interrupt.
CONSOLE_TAIL_CHARS = 8192

# The kernel's words for an unknown NMI, which is what SendDiagnosticInterrupt delivers.
_NMI_RECEIVED = re.compile(r"NMI received for unknown reason|Uhhuh\. NMI")
_KERNEL_PANIC = re.compile(r"Kernel panic - not syncing: [^\n]*")
# What kdump-tools, kdumpctl and makedumpfile print while the capture kernel saves the dump.
KDUMP_AT_WORK = re.compile(
    r"kdump(\[\d+\])?: saving (to|vmcore)|kdump-tools\[\d+\]: .*(saving|running makedumpfile)|Copying data\s*:|"
    r"makedumpfile .*(Copying|Excluding)|Saving to the local filesystem|Starting Kdump Vmcore Save Service",
    re.IGNORECASE,
)
# ... and once it has finished (kdumpctl, kdump-tools).
_DUMP_SAVED = re.compile(r"saving vmcore complete|saved vmcore in|kdump-tools\[\d+\]: .*\bsaved\b", re.IGNORECASE)
# makedumpfile's progress indicator (message level bit 0, on in every distro's default), redrawn with \r.
_COPY_PROGRESS = re.compile(r"Copying data\s*:\s*\[\s*(\d{1,3}(?:\.\d+)?)\s*%\]")

CrashKernelStage = Literal["unknown", "panicked", "writing", "saved"]


@dataclass(frozen=True)
class CrashKernel:
    """Where the console says the crash kernel is since the last NMI: `panicked` (it is booting), `writing`
    (with makedumpfile's percentage when it prints one), `saved` (the instance is restarting), or `unknown`."""

    stage: CrashKernelStage
    percent: float | None = None


def read_console(ec2: Any, instance_id: str) -> str:
    """The most recent console output as text ("" when the instance printed nothing)."""
    try:
        # Latest=true returns the most recent output, not the boot-time buffer (Nitro only).
        response = ec2.get_console_output(InstanceId=instance_id, Latest=True)
    except Exception as error:
        if error_code(error) not in {"UnsupportedOperation", "InvalidParameterValue"}:
            raise
        response = ec2.get_console_output(InstanceId=instance_id)
    # botocore has already base64-decoded Output (its after-call handler for GetConsoleOutput): plain text.
    return str(response.get("Output") or "")


def kdump_still_writing(console_text: str) -> bool:
    return KDUMP_AT_WORK.search(console_text[-CONSOLE_TAIL_CHARS:]) is not None


def crash_kernel(console_text: str) -> CrashKernel:
    """The whole console (Latest holds 64 KB), not its tail: makedumpfile's redrawn progress alone can fill
    8 KiB, and the NMI must still be found before it."""
    nmis = list(_NMI_RECEIVED.finditer(console_text))
    if not nmis:
        return CrashKernel("unknown")
    after = console_text[nmis[-1].start():]
    if _KERNEL_PANIC.search(after) is None:
        return CrashKernel("unknown")
    if _DUMP_SAVED.search(after):
        return CrashKernel("saved")
    if KDUMP_AT_WORK.search(after):
        percents = _COPY_PROGRESS.findall(after)
        return CrashKernel("writing", float(percents[-1]) if percents else None)
    return CrashKernel("panicked")


def after_the_nmi(console_text: str) -> str:
    """What a Linux console shows happened after the interrupt, in words an operator can act on."""
    tail = console_text[-CONSOLE_TAIL_CHARS:]
    if not tail.strip():
        return "the console is empty, so it cannot tell whether the NMI arrived"
    nmis = list(_NMI_RECEIVED.finditer(tail))
    if not nmis:
        return "the console shows no NMI: the interrupt may not have reached the kernel"
    after = tail[nmis[-1].start():]
    panic = _KERNEL_PANIC.search(after)
    if panic is None:
        return ("the kernel logged the NMI and carried on without panicking, so no dump was written "
                "(kernel.unknown_nmi_panic is off, or kdump is not set up)")
    if _DUMP_SAVED.search(after):
        return f"the kernel panicked ({panic.group(0).strip()}) and kdump saved a dump, then it never came back"
    if KDUMP_AT_WORK.search(after):
        return f"the kernel panicked ({panic.group(0).strip()}) and the crash kernel was still writing the dump"
    return (f"the kernel panicked ({panic.group(0).strip()}) but no crash kernel ran "
            "(kdump not loaded, or crashkernel= too small)")
