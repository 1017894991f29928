"""The diagnostic interrupt on a real Debian kernel: NMI -> panic -> kdump -> reboot -> dump on disk.

QEMU's `inject-nmi` is what EC2 SendDiagnosticInterrupt delivers. Run with `pytest -m kernel -s`
to see the phase timings. Needs root (installs Debian packages) and ~1 minute with a warm cache.
"""

import re
import subprocess
from pathlib import Path

import pytest

from panic_button_sandbox.qemu import CycleResult
from panic_button_sandbox.qemu.cycle import SURVIVAL_HEARTBEATS
from panic_button_sandbox.qemu.host_tools import find_tool

pytestmark = [
    pytest.mark.kernel,
    # QMP is a unix socket: keep it usable should the suite ever switch sockets off (pytest-socket).
    pytest.mark.enable_socket,
]

UNKNOWN_NMI = "NMI received for unknown reason"
NMI_PANIC = "Kernel panic - not syncing: NMI: Not continuing"
NMI_IGNORED = "Dazed and confused, but trying to continue"
CRASH_KERNEL_COMMAND_LINE = "elfcorehdr="
KDUMP_COMPRESSED_SIGNATURE = b"KDUMP   "  # makedumpfile -c writes the kdump-compressed format


def test_nmi_sends_armed_guest_through_crash_kernel_and_back_online(nmi_panic_cycle: CycleResult) -> None:
    # Given a guest with kdump loaded and kernel.unknown_nmi_panic=1
    # When the NMI arrives (fixture)
    result = nmi_panic_cycle
    # Then the crash kernel boots, saves the dump and the guest reboots into its first kernel
    assert result.ok, result.explain()
    assert result.crashed, result.explain()
    assert result.timings.nmi_to_dump_saved is not None, result.explain()
    assert result.timings.nmi_to_back_online is not None, result.explain()


def test_dump_is_saved_in_kdump_tools_layout(nmi_panic_cycle: CycleResult) -> None:
    # Given the guest's /var/crash read back from its disk after the cycle
    result = nmi_panic_cycle
    assert result.crash_dir is not None, result.explain()
    # When its folders are listed
    dumps = result.dumps
    # Then there is one <stamp>/ with a finished, non-empty compressed dump and the dmesg beside it
    assert len(dumps) == 1, f"{sorted(p.name for p in result.crash_dir.rglob('*'))}\n{result.explain()}"
    saved = dumps[0]
    assert re.fullmatch(r"\d{12}", saved.stamp)
    assert saved.folder == result.crash_dir / saved.stamp
    assert not saved.incomplete
    assert saved.dump == saved.folder / f"dump.{saved.stamp}"
    assert saved.dump.stat().st_size > 0
    assert saved.dump.read_bytes()[: len(KDUMP_COMPRESSED_SIGNATURE)] == KDUMP_COMPRESSED_SIGNATURE
    assert saved.dmesg == saved.folder / f"dmesg.{saved.stamp}"


def test_dump_records_the_nmi_panic(nmi_panic_cycle: CycleResult, tmp_path: Path) -> None:
    # Given the dump and the dmesg the crash kernel wrote
    assert nmi_panic_cycle.dumps, nmi_panic_cycle.explain()
    saved = nmi_panic_cycle.dumps[0]
    assert saved.dump is not None and saved.dmesg is not None
    # When the host extracts the panicked kernel's log from the dump itself
    host_dmesg = tmp_path / "dmesg-from-dump.txt"
    subprocess.run(
        [str(find_tool("makedumpfile")), "--dump-dmesg", str(saved.dump), str(host_dmesg)],
        capture_output=True,
        timeout=120,
        check=True,
    )
    # Then both logs show the kernel received the NMI and panicked on it
    for log in (host_dmesg.read_text(errors="replace"), saved.dmesg.read_text(errors="replace")):
        assert UNKNOWN_NMI in log
        assert NMI_PANIC in log


def test_guest_without_unknown_nmi_panic_survives_the_nmi(ignored_nmi_cycle: CycleResult) -> None:
    # Given a guest with kdump loaded but kernel.unknown_nmi_panic=0 ("kdump not configured")
    # When the NMI arrives (fixture)
    result = ignored_nmi_cycle
    console = result.console_log.read_text(errors="replace")
    # Then the kernel logs the NMI, carries on printing heartbeats, and never boots a crash kernel
    assert result.ok, result.explain()
    assert not result.crashed, result.explain()
    assert result.nmi_survived_report is not None and UNKNOWN_NMI in result.nmi_survived_report
    assert NMI_IGNORED in console
    assert result.heartbeats_after_nmi >= SURVIVAL_HEARTBEATS
    assert CRASH_KERNEL_COMMAND_LINE not in console
    # And /var/crash stays empty
    assert result.crash_dir is not None, result.explain()
    assert result.dumps == []
    assert list(result.crash_dir.iterdir()) == []
