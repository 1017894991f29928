"""Memory of a process tree, read from /proc: how the collector's memory is measured.

Two sums over the tree: resident (VmRSS), which counts a shared library's pages once per process that maps
them, so every curl adds its libcurl, libssl and libc again; and proportional (Pss, smaps_rollup), which
splits each shared page among its users, so the sum is what the tree costs the instance."""

from __future__ import annotations

import re
from pathlib import Path

_VM_RSS = re.compile(r"^VmRSS:\s+(\d+) kB", re.MULTILINE)
_PSS = re.compile(r"^Pss:\s+(\d+) kB", re.MULTILINE)


def _tree(pid: int) -> list[int]:
    """A process and all its descendants (/proc/<pid>/task/<tid>/children), as far as they still run."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:  # the process ended between two reads
            continue
        found.append(current)
    return found


def _summed(pid: int, file: str, pattern: re.Pattern[str]) -> int:
    total = 0
    for process in _tree(pid):
        try:
            match = pattern.search(Path(f"/proc/{process}/{file}").read_text())
        except OSError:
            continue
        total += int(match.group(1)) * 1024 if match else 0
    return total


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants: shared pages counted once per process."""
    return _summed(pid, "status", _VM_RSS)


def tree_pss_bytes(pid: int) -> int:
    """Proportional memory of a process and all its descendants: what they cost together."""
    return _summed(pid, "smaps_rollup", _PSS)
