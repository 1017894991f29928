"""Resident memory of a process tree, read from /proc: how the collector's memory is measured."""

from __future__ import annotations

import re
from pathlib import Path

_VM_RSS = re.compile(r"^VmRSS:\s+(\d+) kB", re.MULTILINE)


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants (/proc/<pid>/task/<tid>/children)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:  # the process ended between two reads
            continue
        match = _VM_RSS.search(status)
        total += int(match.group(1)) * 1024 if match else 0
    return total
