"""The recovery loop's schedule: each poll chooses the wait before the next one from what the console says
(none wasted while the crash kernel writes the dump, a tight one once the instance should be back), and
the timeout is counted in those waits. The replays run the real decision against a simulated instance on a
clock of its own, for reboots of any length."""

import pytest
from panic_button.logic.recovery import (
    CRASH_KERNEL_BOOT_SECONDS,
    RESTART_SECONDS,
    TIGHT_POLL_SECONDS,
    RecoveryBudget,
    next_poll_seconds,
)
from panic_button.logic.serial_console import CrashKernel, crash_kernel
from panic_button.models.state import Recovery

from panic_button_sandbox import console
from panic_button_sandbox.instances import CrashTimeline
from panic_button_sandbox.recovery_replay import replay_recovery

BUDGET = RecoveryBudget(timeout_seconds=1200, poll_interval_seconds=30)
POLL_SECONDS = 0.5  # what a poll itself takes beside its wait: the rate estimate must live with it
PANIC = ("[ 3012.554101] Uhhuh. NMI received for unknown reason 3d on CPU 0.\n"
         "[ 3012.554113] Kernel panic - not syncing: NMI: Not continuing\n")


def waiting(stage: str, percent: float | None = None, *, waited: int = 0, wait: int = 10,
            until_back: bool = False) -> Recovery:
    """A previous poll; a progress sample is its write's first (the baseline of the rate)."""
    sampled = stage == "writing" and percent is not None
    return Recovery.model_validate({"status": "WAITING", "attempt": 1, "stage": stage, "percent": percent,
                                    "waited_seconds": waited, "next_poll_seconds": wait, "until_back": until_back,
                                    "baseline_percent": percent if sampled else None,
                                    "baseline_waited": waited if sampled else None, "stage_seen_at": waited})


class TestConsoleStages:
    def test_the_crash_kernel_stage_follows_the_console(self) -> None:
        started = PANIC + console.kdump_started_log("/var/crash/x")
        assert crash_kernel("") == CrashKernel("unknown")
        assert crash_kernel(PANIC) == CrashKernel("panicked")
        assert crash_kernel(started) == CrashKernel("writing")
        assert crash_kernel(started + console.copy_progress(12.5) + console.copy_progress(37.2)) == \
            CrashKernel("writing", 37.2)
        assert crash_kernel(started + console.copy_progress(99.9) + console.kdump_saved_log()) == CrashKernel("saved")

    def test_a_dump_before_the_last_nmi_is_not_this_one(self) -> None:
        earlier = PANIC + console.kdump_started_log("/var/crash/x") + console.kdump_saved_log()
        assert crash_kernel(earlier + PANIC) == CrashKernel("panicked")

    def test_progress_that_fills_the_console_still_counts(self) -> None:
        redrawn = "".join(console.copy_progress(p / 100) for p in range(5000))  # ~350 KB of \r-redrawn progress
        assert crash_kernel(PANIC + console.kdump_started_log("/var/crash/x") + redrawn) == CrashKernel("writing", 50.0)


class TestNextPoll:
    @pytest.mark.parametrize(("kernel", "previous", "waited", "expected"), [
        (CrashKernel("unknown"), None, 0, (CRASH_KERNEL_BOOT_SECONDS, False)),  # right after the interrupt
        (CrashKernel("panicked"), waiting("unknown"), 10, (CRASH_KERNEL_BOOT_SECONDS, False)),
        (CrashKernel("writing", 4.0), waiting("panicked"), 10, (CRASH_KERNEL_BOOT_SECONDS, False)),  # sample
        # 10 % -> 20 % in 10 s: 80 s to go, then the restart, and a tight poll's margin
        (CrashKernel("writing", 20.0), waiting("writing", 10.0, waited=10), 20,
         (80 + RESTART_SECONDS + TIGHT_POLL_SECONDS, True)),
        (CrashKernel("writing"), waiting("writing", waited=10), 20, (30, False)),  # no progress shown
        (CrashKernel("writing", 5.0), waiting("writing", 5.0, waited=10), 20, (30, False)),  # none since
        (CrashKernel("writing", 5.5), waiting("writing", 5.0, waited=10), 20, (30, False)),  # too little for a rate
        # 1 % -> 2 % in 10 s: 980 s to go is far off: look again at 90 % of it
        (CrashKernel("writing", 2.0), waiting("writing", 1.0, waited=10), 20, (882, False)),
        (CrashKernel("saved"), waiting("writing", 90.0, until_back=True), 100, (TIGHT_POLL_SECONDS, False)),
        (CrashKernel("saved"), waiting("writing", 50.0, wait=30), 100, (RESTART_SECONDS, False)),
        (CrashKernel("saved"), waiting("saved", waited=100, wait=RESTART_SECONDS), 115, (TIGHT_POLL_SECONDS, False)),
        (CrashKernel("saved"), waiting("saved", waited=100), 135, (30, False)),  # saved 35 s ago: overdue
        (CrashKernel("unknown"), waiting("unknown", wait=30), 40, (30, False)),  # Windows: its console is blank
        (CrashKernel("writing", 2.0), waiting("writing", 0.1, waited=10), 1190, (10, False)),  # the timeout first
    ])
    def test_the_wait_fits_what_the_console_says(self, kernel: CrashKernel, previous: Recovery | None,
                                                 waited: int, expected: tuple[int, bool]) -> None:
        assert next_poll_seconds(kernel, previous, waited, BUDGET) == expected

    def test_an_instance_up_without_its_agent_is_polled_tightly(self) -> None:
        assert next_poll_seconds(CrashKernel("unknown"), waiting("saved"), 160, BUDGET, checks_ok=True) == \
            (TIGHT_POLL_SECONDS, False)


class TestReplay:
    @pytest.mark.parametrize("reboot_seconds", [20, 60, 151, 600, 1000])
    def test_a_rescue_is_seen_back_soon_after_it_is_and_not_polled_while_the_dump_is_written(
        self, reboot_seconds: float
    ) -> None:
        polls = replay_recovery(reboot_seconds, BUDGET, poll_seconds=POLL_SECONDS)
        timeline = CrashTimeline.of(reboot_seconds)

        last = polls[-1].recovery
        assert last is not None and last.status == "RECOVERED"
        assert 0 <= polls[-1].at - reboot_seconds <= RESTART_SECONDS  # never a 30 s poll's slack
        writing = [p for p in polls if timeline.writing_from <= p.at < timeline.saved_at]
        assert len(writing) <= 3  # two progress samples, and one more if the estimate fell short
        assert len(polls) <= 6

    @pytest.mark.parametrize("reboot_seconds", [151, 600, 1000])
    def test_a_measurable_write_is_seen_back_within_a_tight_poll(self, reboot_seconds: float) -> None:
        polls = replay_recovery(reboot_seconds, BUDGET, poll_seconds=POLL_SECONDS)
        assert polls[-1].at - reboot_seconds <= TIGHT_POLL_SECONDS + len(polls) * POLL_SECONDS

    def test_an_instance_that_never_comes_back_is_given_up_at_the_timeout(self) -> None:
        polls = replay_recovery(None, BUDGET)

        assert polls[-1].recovery is None  # NOT_RECOVERED
        assert polls[-1].at == BUDGET.timeout_seconds  # the waits add up to the timeout, exactly
        assert len(polls) <= BUDGET.timeout_seconds // BUDGET.poll_interval_seconds + 10  # tight only a while

    def test_a_dump_longer_than_the_timeout_is_given_up_at_the_timeout(self) -> None:
        polls = replay_recovery(3000, BUDGET)
        assert polls[-1].recovery is None and polls[-1].at == BUDGET.timeout_seconds
        assert len(polls) <= 5  # samples until 1 % is written, then one wait to the timeout
