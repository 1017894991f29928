"""Following the guest's serial console (a file QEMU appends to) and waiting for its markers."""

import logging
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# Printed by the init scripts (guest_init_first.sh, guest_init_crash.sh).
ARMED = "PANIC-BUTTON-ARMED"
HEARTBEAT = "PANIC-BUTTON-HEARTBEAT"
NMI_SURVIVED = "PANIC-BUTTON-NMI-SURVIVED"
HUNG = "PANIC-BUTTON-HUNG"  # the hang the kernel command line asked for is in place
DUMP_SAVED = "PANIC-BUTTON-DUMP-SAVED"
GUEST_ERROR = "PANIC-BUTTON-GUEST-ERROR"
# The kernel echoes its command line early in boot; only a kdump kernel's carries elfcorehdr=.
# (The panic message itself never reaches the console: kexec runs before it is flushed.)
CRASH_KERNEL_BOOT = "elfcorehdr="

_POLL_SECONDS = 0.1
# A booting or dumping guest under TCG prints a line every few seconds even on a loaded host; this much
# silence means it is stuck, however slow the machine.
CONSOLE_SILENCE_SECONDS = 120.0


class CycleFailure(RuntimeError):
    """The cycle could not go on; the message is the reason reported in CycleResult."""


@dataclass(frozen=True)
class ConsoleLine:
    number: int  # index in SerialConsole.lines
    text: str
    seen_at: float  # time.monotonic() when the host first read it


class SerialConsole:
    def __init__(self, path: Path, qemu: "subprocess.Popen[bytes]") -> None:
        self.path = path
        self.lines: list[ConsoleLine] = []
        self._qemu = qemu
        self._read_offset = 0
        self._partial = b""

    def wait_for(self, *needles: str, deadline: float, start: int, what: str,
                 silence: float | None = CONSOLE_SILENCE_SECONDS) -> ConsoleLine:
        """The first line numbered `start` or later that contains one of `needles`.

        Raises CycleFailure when the guest reports an error, QEMU exits, the console stays silent for
        `silence` seconds (None: a guest that may rightly print nothing, such as one waiting for an NMI), or
        the `deadline` safety net passes.
        """
        checked = start
        waiting_since = time.monotonic()
        while True:
            self._read_new_lines()
            for line in self.lines[checked:]:
                if GUEST_ERROR in line.text:
                    raise CycleFailure(f"guest reported an error while {what}: {line.text.strip()}")
                if any(needle in line.text for needle in needles):
                    return line
            checked = max(checked, len(self.lines))
            if self._qemu.poll() is not None:
                raise CycleFailure(f"qemu exited with code {self._qemu.returncode} while {what}")
            now = time.monotonic()
            last_output = max(waiting_since, self.lines[-1].seen_at if self.lines else waiting_since)
            if silence is not None and now - last_output > silence:
                raise CycleFailure(f"no console output for {now - last_output:.0f} s while {what}")
            if now > deadline:
                raise CycleFailure(f"still {what} at the safety net ({now - waiting_since:.0f} s of waiting)")
            time.sleep(_POLL_SECONDS)

    def refresh(self) -> int:
        """Read what the guest printed so far; return the number of lines."""
        self._read_new_lines()
        return len(self.lines)

    def count(self, needle: str, start: int, stop: int | None = None) -> int:
        self._read_new_lines()
        return sum(needle in line.text for line in self.lines[start:stop])

    def tail(self, line_count: int = 40) -> str:
        self._read_new_lines()
        return "\n".join(line.text for line in self.lines[-line_count:])

    def _read_new_lines(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as console:
            console.seek(self._read_offset)
            chunk = console.read()
        self._read_offset += len(chunk)
        *complete, self._partial = (self._partial + chunk).split(b"\n")
        now = time.monotonic()
        for raw in complete:
            text = raw.decode("utf-8", "replace").rstrip("\r")
            self.lines.append(ConsoleLine(number=len(self.lines), text=text, seen_at=now))
            if text.startswith("PANIC-BUTTON-"):
                logger.debug("guest: %s", text)
