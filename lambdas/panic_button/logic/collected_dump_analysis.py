"""The vmcore analysis inside the workflow: fetch the collected dump and its symbols, analyse, clean up.

The dump goes to ephemeral storage; the vmlinux comes from the evidence bucket's symbols/<build-id>/, else
from the debuginfod servers the stack was configured with (panic-button:debuginfod-urls), by build ID.
A dump larger than the storage, or a function built without drgn, is never skipped silently: the
analysis says so, with the exact command that runs it on a workstation.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path
from typing import Any

from panic_button.logic.debuginfod import debuginfo_url, fetch_debuginfo
from panic_button.logic.kernel_symbols import local_vmlinux, symbols_key
from panic_button.models.state import Collection
from panic_button.models.vmcore import VmcoreAnalysis

# What /tmp can hold for the dump and the vmlinux together is the function's ephemeral storage;
# the vmlinux of a distro kernel is ~650 MB.
VMLINUX_ALLOWANCE_BYTES = 1024 * 1024 * 1024


def analyse_collected_dump(
    s3: Any, *, bucket: str, collection: Collection, max_dump_bytes: int, scratch_root: Path | None = None,
    debuginfod_servers: tuple[str, ...] = (),
) -> VmcoreAnalysis | None:
    """None when no dump was collected (only a kernel log, or Windows)."""
    dump = next((artifact for artifact in collection.artifacts if artifact.kind == "dump"), None)
    if dump is None:
        return None
    local_command = f"panic-button analyze {dump.s3_uri}"
    if dump.bytes > max_dump_bytes:
        return VmcoreAnalysis(
            status="too_large",
            error=f"the dump is {dump.bytes} bytes, more than the {max_dump_bytes} this function may download: "
            f"run `{local_command}` on a machine with the disk for it",
        )
    if importlib.util.find_spec("drgn") is None:  # the function's asset was built without the analysis extra
        return VmcoreAnalysis(status="unavailable", error=f"this function has no drgn: run `{local_command}`")
    from panic_button.logic import vmcore_analysis, vmcore_program

    scratch = Path(tempfile.mkdtemp(prefix="vmcore-", dir=scratch_root))
    try:
        key = dump.s3_uri.removeprefix(f"s3://{bucket}/")
        local_dump = scratch / key.rsplit("/", 1)[-1]
        s3.download_file(bucket, key, str(local_dump))
        vmlinux, looked_in = _symbols_for(s3, bucket, local_dump, scratch, debuginfod_servers)
        analysis = vmcore_analysis.analyse_vmcore(local_dump, symbols=[vmlinux] if vmlinux else [])
        if analysis.status == "analysed":
            analysis.symbols_source = looked_in[-1]
        if analysis.status == "no_symbols" and analysis.missing_symbols is not None:
            analysis.missing_symbols.looked_in = looked_in
            analysis.missing_symbols.how_to_add.append(f"then run `{local_command}`, or trigger a new rescue")
        return analysis
    except vmcore_program.VmcoreUnreadable as exc:
        return VmcoreAnalysis(status="failed", error=str(exc))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _symbols_for(
    s3: Any, bucket: str, dump: Path, scratch: Path, debuginfod_servers: tuple[str, ...]
) -> tuple[Path | None, list[str]]:
    """The vmlinux for the dump's build ID, and each place asked: "<where>: <why not>", or the one that had it."""
    from botocore.exceptions import ClientError

    from panic_button.logic.vmcore_program import open_vmcore, vmcoreinfo

    build_id = vmcoreinfo(open_vmcore(dump)).build_id
    if build_id is None:
        return None, ["vmcoreinfo: the dump records no build ID"]
    vmlinux = local_vmlinux(scratch / "symbols", build_id)
    vmlinux.parent.mkdir(parents=True)
    stored = f"s3://{bucket}/{symbols_key(build_id)}"
    try:
        s3.download_file(bucket, symbols_key(build_id), str(vmlinux))
        return vmlinux, [stored]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey"):
            raise
    looked_in = [f"{stored}: not stored"]
    fetched = fetch_debuginfo(list(debuginfod_servers), build_id, vmlinux)
    looked_in += [f"{debuginfo_url(miss.server, build_id)}: {miss.reason}" for miss in fetched.misses]
    if fetched.served_by is None:
        return None, looked_in if debuginfod_servers else [*looked_in, "debuginfod: no servers configured"]
    return vmlinux, [*looked_in, debuginfo_url(fetched.served_by, build_id)]
