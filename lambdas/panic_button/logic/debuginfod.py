"""Kernel debug symbols from debuginfod servers, by build ID: `GET <server>/buildid/<build-id>/debuginfo`.

Plain HTTPS with urllib rather than drgn's own debuginfod client. drgn 0.3.0's Python 3.14 wheel does
bundle libdebuginfod, but with the libcurl 7.29 and OpenSSL 1.0.2k of manylinux2014; it reads its servers
and cache folder from the environment and reports a miss as "no debug info" without saying which server
answered what. Here TLS is the runtime's own ssl module, each server's answer goes into the report, the
file lands in the scratch folder the function deletes, and it is kept only if it is an ELF file with the
asked build ID: a server that answers with something else is a miss, not a wrong analysis. The answer is
streamed to disk (a distro vmlinux is ~650 MB).
"""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path

from panic_button.logic.elf_build_id import NotAnElfFile, elf_build_id
from panic_button.models.vmcore import DebuginfodFetch, DebuginfodMiss

# Time to the first byte and between reads; a 650 MB answer takes longer than this in total, which is fine.
READ_TIMEOUT_SECONDS = 30.0
_CHUNK = 4 * 1024 * 1024


def debuginfo_url(server: str, build_id: str) -> str:
    return f"{server.rstrip('/')}/buildid/{build_id}/debuginfo"


def fetch_debuginfo(
    servers: list[str], build_id: str, target: Path, *, timeout: float = READ_TIMEOUT_SECONDS
) -> DebuginfodFetch:
    """Ask each server in turn for `build_id`'s debuginfo; on success `target` holds the vmlinux."""
    fetch = DebuginfodFetch()
    partial = target.with_name(target.name + ".partial")
    for server in servers:
        reason = _download(debuginfo_url(server, build_id), partial, timeout)
        if reason is None:
            reason = _mismatch(partial, build_id)
        if reason is None:
            partial.replace(target)
            fetch.served_by = server
            return fetch
        partial.unlink(missing_ok=True)
        fetch.misses.append(DebuginfodMiss(server=server, reason=reason))
    return fetch


def _download(url: str, into: Path, timeout: float) -> str | None:
    """None when the whole answer is in `into`; else why not."""
    request = urllib.request.Request(url, headers={"User-Agent": "panic-button"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer, into.open("wb") as out:
            shutil.copyfileobj(answer, out, _CHUNK)
    except urllib.error.HTTPError as exc:
        return f"{exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError) as exc:
        return str(getattr(exc, "reason", exc))
    return None


def _mismatch(vmlinux: Path, build_id: str) -> str | None:
    try:
        found = elf_build_id(vmlinux)
    except NotAnElfFile:
        return "the answer is not an ELF file"
    if found != build_id:
        return f"build ID mismatch: the answer has {found or 'no build ID'}"
    return None
