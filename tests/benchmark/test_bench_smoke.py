"""`make bench` at tiny sizes: every figure of issue 14 and of the storm (issue 12) is printed as a
name=value line with a number.
Never asserts on a value: the smoke run only proves the benchmark still runs."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIGURES = ("handler_import_vs_boto3", "collector_peak_rss_mib", "collector_peak_pss_mib", "upload_vs_single_put",
           "upload_vs_single_put_capped", "transitions_per_rescue", "own_overhead_share")
VERIFY = ("verify_1mib_s3_calls", "verify_1mib_seconds", "verify_1gib_s3_calls", "verify_1gib_seconds")
STORM = ("storm_alarms", "storm_alarm_seconds", "storm_wall_seconds", "storm_transitions", "storm_records",
         "storm_interrupts", "storm_skipped_rate_limited", "storm_notifications", "storm_summaries",
         "storm_trip_notices", "storm_lambda_peak_concurrency", "storm_dead_letters", "storm_executions",
         "storm_executions_with_one_record", "storm_skipped_by_breaker", "storm_workflow_failures")
PHASES = ("detection", "before_interrupt", "dump_and_reboot", "locate", "upload", "verify")


def parse(stdout: str) -> dict[str, str]:
    lines = [line for line in stdout.splitlines() if line]
    malformed = [line for line in lines if line.count("=") != 1]
    assert not malformed, f"not name=value: {malformed}"
    return dict(line.split("=") for line in lines)


def test_the_smoke_run_prints_every_figure_and_phase_as_a_number(cdk_out: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "bench.run_bench", "--smoke"], cwd=REPO, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": f"{REPO / 'lambdas'}:{REPO}"}, timeout=600,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = parse(result.stdout)

    expected = [*FIGURES, *VERIFY, *STORM, *(f"phase_{p}_seconds" for p in PHASES),
                *(f"phase_{p}_own_seconds" for p in PHASES)]
    assert [name for name in expected if name not in figures] == []
    assert [name for name in expected if not math.isfinite(float(figures[name]))] == []
    assert figures["transitions_per_rescue"].isdigit()
    # Verification reads no part back: the same S3 calls for 1 MiB and for 1 GiB (a count, not a timing).
    assert figures["verify_1mib_s3_calls"] == figures["verify_1gib_s3_calls"]


def test_parse_refuses_a_line_that_is_not_name_value() -> None:
    try:
        parse("a=1\nno value here\n")
    except AssertionError as error:
        assert "no value here" in str(error)
    else:
        raise AssertionError("a malformed line was accepted")
