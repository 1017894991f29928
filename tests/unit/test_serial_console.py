"""What the console says after the interrupt, read from consoles captured on real kernels (tests/triage/corpus)
and from the kdump tools' own lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from panic_button.logic.serial_console import after_the_nmi, kdump_still_writing

CORPUS = Path(__file__).resolve().parents[1] / "triage" / "corpus"
IGNORED = (CORPUS / "debian12-nmi-ignored.console.log").read_text()
PANICKED = (CORPUS / "al2023-soft-lockups-nmi-panic.console.log").read_text()


def test_a_kernel_that_logged_the_nmi_and_ran_on_did_not_panic() -> None:
    verdict = after_the_nmi(IGNORED)
    assert "logged the NMI and carried on without panicking" in verdict and "unknown_nmi_panic" in verdict


def test_a_panic_with_no_crash_kernel_after_it_says_kdump_did_not_run() -> None:
    verdict = after_the_nmi(PANICKED)
    assert "Kernel panic - not syncing: NMI: Not continuing" in verdict and "no crash kernel ran" in verdict


@pytest.mark.parametrize(("crash_kernel", "expected"), [
    ("[    1.633804] kdump[437]: saving to /var/crash/127.0.0.1-2026-11-20-03:13:02/\n", "still writing the dump"),
    ("[    5.118823] kdump[466]: saving vmcore complete\n[    5.201734] kdump[470]: rebooting\n",
     "kdump saved a dump, then it never came back"),
    ("[    9.1] kdump-tools[312]: saved vmcore in /var/crash/202611200313\n", "kdump saved a dump"),
])
def test_the_crash_kernel_lines_after_a_panic_say_how_far_kdump_got(crash_kernel: str, expected: str) -> None:
    assert expected in after_the_nmi(PANICKED + crash_kernel)


def test_only_the_latest_nmi_counts() -> None:
    # An NMI that was ignored earlier, then the one that panicked.
    assert "no crash kernel ran" in after_the_nmi(IGNORED + PANICKED[PANICKED.index("[  851.776301]"):])
    assert "carried on without panicking" in after_the_nmi(PANICKED + IGNORED[IGNORED.index("[    5.751212]"):])


@pytest.mark.parametrize(("console", "expected"), [
    ("", "console is empty"),
    ("[    0.0] Linux version 6.1.0-57-amd64\n[   12.0] systemd[1]: Started ssh.service\n", "shows no NMI"),
])
def test_a_console_without_an_nmi_says_so(console: str, expected: str) -> None:
    assert expected in after_the_nmi(console)


def test_kdump_at_work_is_seen_only_in_the_console_tail() -> None:
    at_work = "[    1.6] kdump[437]: saving to /var/crash/x/\n"
    assert kdump_still_writing(at_work)
    assert not kdump_still_writing(at_work + "x" * 9000)
    assert not kdump_still_writing(IGNORED)
