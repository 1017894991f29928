"""How much real time the sandbox gives real work that a scaled timeout bounds (the collector's SSM
commands), and how fast `--time-scale` may go. Scaling shortens simulated waits, not the work itself."""

from __future__ import annotations

# The tightest scaled timeouts that real work must fit in are the collector's SSM commands: the locate step
# gets 600 s (0.6 s of real time at 1000x), the upload the collection timeout, 3600 s (3.6 s at 1000x),
# while on a busy 2-core host the bash collector takes tenths of a second to locate and seconds per 100 MiB
# to upload. Measured with examples/: at 3000x the locate times out, at 1000x the 300 MiB upload does.
# Within 200x the floor below keeps them apart; tests/workflow and tests/lifecycle run at 200x.
MAX_TIME_SCALE = 200.0
# Real work is never given less real time than this within the supported scales: a loaded machine then
# makes a run slower, never a timeout (the patience of the execution watch and of the guest console).
REAL_WORK_FLOOR_SECONDS = 120.0


def work_budget(seconds: float, time_scale: float) -> float:
    """The real time a command whose timeout is `seconds` gets: scaled, but not below the floor (or the
    timeout itself, if that is shorter). Past MAX_TIME_SCALE, which simulate and demo refuse, the scaled
    value stands: a test that wants the timeout to fire goes there on purpose
    (tests/e2e/test_abandoned_collection.py)."""
    scaled = seconds / time_scale
    if time_scale > MAX_TIME_SCALE:
        return scaled
    return max(scaled, min(seconds, REAL_WORK_FLOOR_SECONDS))
