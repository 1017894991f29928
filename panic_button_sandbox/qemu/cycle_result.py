"""What one NMI cycle produced: did the guest crash, where is its /var/crash, how long each phase took."""

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from panic_button_sandbox.qemu.vm import GuestHang


class CycleTimings(BaseModel):
    """Host wall-clock seconds per phase; None when the cycle never reached that phase."""

    boot_to_armed: float | None = None  # qemu start -> first kernel has kdump armed
    nmi_to_crash_kernel: float | None = None  # NMI -> crash kernel boots (elfcorehdr= on the console)
    nmi_to_dump_saved: float | None = None  # NMI -> crash kernel has written dump and dmesg
    nmi_to_back_online: float | None = None  # NMI -> first kernel armed again after the reboot
    total: float | None = None  # qemu start -> /var/crash extracted on the host


class SavedDump(BaseModel):
    """One /var/crash/<stamp>/ folder in Debian kdump-tools layout."""

    model_config = ConfigDict(frozen=True)

    stamp: str  # YYYYMMDDHHMM, guest clock (UTC)
    folder: Path
    dump: Path | None  # dump.<stamp>: makedumpfile -c -d 31 of /proc/vmcore
    dmesg: Path | None  # dmesg.<stamp>: the panicked kernel's log
    incomplete: bool  # dump-incomplete left behind: makedumpfile did not finish


class CycleResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    nmi_panic: bool  # whether the guest was told to panic on the NMI (kdump configured)
    hang: GuestHang = "none"  # the hang the guest was in when the NMI came
    hang_report: str | None = None  # the guest's PANIC-BUTTON-HUNG line: the hang was in place
    crashed: bool  # the crash kernel booted after the NMI
    # The guest's /var/crash copied to the host (<crash_dir>/<stamp>/dump.<stamp>), also when
    # nothing crashed; None only if the disk could not be read back.
    crash_dir: Path | None
    dumps: list[SavedDump]
    console_log: Path
    # Wall clock (UTC) when QMP accepted inject-nmi: what SendDiagnosticInterrupt's caller records.
    interrupted_at: datetime | None
    heartbeats_after_nmi: int  # printed by the first kernel after the NMI, before any crash kernel
    # The guest's own dmesg line for an NMI it survived ("NMI received for unknown reason ...").
    nmi_survived_report: str | None
    timings: CycleTimings
    reason: str | None  # why the cycle could not be observed to the end; None when it was

    @property
    def ok(self) -> bool:
        return self.reason is None

    def console_tail(self, line_count: int = 40) -> str:
        if not self.console_log.is_file():
            return "(no console output)"
        return "\n".join(self.console_log.read_text(errors="replace").splitlines()[-line_count:])

    def explain(self) -> str:
        """For assertion messages: the summary (with any failure reason) and the console's end."""
        return f"{self.summary()}\n--- end of {self.console_log} ---\n{self.console_tail()}"

    def summary(self) -> str:
        def seconds(value: float | None) -> str:
            return "-" if value is None else f"{value:.1f}s"

        timings = self.timings
        return (
            f"NMI cycle (nmi_panic={self.nmi_panic}, hang={self.hang}): crashed={self.crashed} dumps={len(self.dumps)} "
            f"heartbeats_after_nmi={self.heartbeats_after_nmi} | boot->armed {seconds(timings.boot_to_armed)}"
            f", NMI->crash kernel {seconds(timings.nmi_to_crash_kernel)}"
            f", NMI->dump saved {seconds(timings.nmi_to_dump_saved)}"
            f", NMI->back online {seconds(timings.nmi_to_back_online)}, total {seconds(timings.total)}"
            + (f" | FAILED: {self.reason}" if self.reason else "")
        )


def saved_dumps(crash_dir: Path) -> list[SavedDump]:
    dumps = []
    for folder in sorted(path for path in crash_dir.iterdir() if path.is_dir()):
        stamp = folder.name
        dump, dmesg = folder / f"dump.{stamp}", folder / f"dmesg.{stamp}"
        dumps.append(
            SavedDump(
                stamp=stamp,
                folder=folder,
                dump=dump if dump.is_file() else None,
                dmesg=dmesg if dmesg.is_file() else None,
                incomplete=(folder / "dump-incomplete").exists(),
            )
        )
    return dumps
