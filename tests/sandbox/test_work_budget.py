"""Scaled timeouts of real work: a loaded machine makes a run slower, never a timeout, within the
supported scales; past them the scaled value stands, for the tests that want a timeout on purpose."""

from __future__ import annotations

import pytest

from panic_button_sandbox.work_budget import MAX_TIME_SCALE, REAL_WORK_FLOOR_SECONDS, work_budget


@pytest.mark.parametrize("time_scale", [1.0, 100.0, MAX_TIME_SCALE])
def test_within_the_supported_scales_real_work_gets_at_least_the_floor(time_scale: float) -> None:
    assert work_budget(3600, time_scale) == max(3600 / time_scale, REAL_WORK_FLOOR_SECONDS)
    assert work_budget(600, time_scale) >= REAL_WORK_FLOOR_SECONDS


def test_a_timeout_shorter_than_the_floor_is_not_lengthened() -> None:
    assert work_budget(30, 100.0) == 30


def test_unscaled_time_keeps_the_whole_timeout() -> None:
    assert work_budget(3600, 1.0) == 3600


def test_past_the_supported_scales_the_scaled_timeout_stands() -> None:
    assert work_budget(600, 1_000_000) == pytest.approx(0.0006)
