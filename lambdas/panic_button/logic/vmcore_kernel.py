"""The kernel's vital signs from a typed dump: uptime, taint, load and memory."""

from __future__ import annotations

from typing import Any

from panic_button.logic.vmcore_program import VmcoreInfo
from panic_button.models.vmcore import KernelSummary


def kernel_summary(prog: Any, info: VmcoreInfo) -> KernelSummary:
    from drgn.helpers.linux.mm import totalram_pages
    from drgn.helpers.linux.panic import panic_message, tainted
    from drgn.helpers.linux.sched import loadavg
    from drgn.helpers.linux.timekeeping import uptime
    from drgn.helpers.linux.vmstat import nr_free_pages

    page_kb = prog["PAGE_SIZE"].value_() // 1024
    try:
        message = panic_message(prog)
    except LookupError:  # kernels older than the helper's variables
        message = None
    return KernelSummary(
        release=info.release,
        build_id=info.build_id,
        uptime_seconds=round(float(uptime(prog)), 2),
        taint=tainted(prog).strip(),
        load_average=[round(value, 2) for value in loadavg(prog)],
        memory_total_kb=int(totalram_pages(prog)) * page_kb,
        memory_free_kb=int(nr_free_pages(prog)) * page_kb,
        panic_message=message.decode(errors="replace") if isinstance(message, bytes) else message,
    )
