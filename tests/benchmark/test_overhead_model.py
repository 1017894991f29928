"""The overhead model's arithmetic: what is physical, what is Panic Button's own, and how the recovery
polls follow the physical wait."""

from __future__ import annotations

import pytest

from bench.overhead_model import (
    ALARM_DATAPOINTS,
    ALARM_PERIOD_SECONDS,
    DUMP_READ_BYTES_PER_SECOND,
    GIB,
    INSTANCE_BYTES_PER_SECOND,
    WAIT_SECONDS,
    Inputs,
    dump_write_and_reboot_seconds,
    model,
    own_overhead_share,
)

RESCUE = ["Begin", "ResolveTarget", "CheckEligibility", "ApplyGuards", "CaptureEvidence", "ConfirmImpaired",
          "SendInterrupt", "InterruptSent?", "CheckRecovery", "RecoveryDone?", "WaitForRecovery", "CheckRecovery",
          "RecoveryDone?", "StartLocate",
          "AwaitLocate", "StartUpload", "AwaitUpload", "CompleteUpload", "TriageDump", "RecordOutcome", "Outcome?",
          "Done"]


def test_physical_time_is_detection_dump_reboot_and_the_upload_at_line_rate_or_disk_rate() -> None:
    phases = model(RESCUE, Inputs(handler_import_vs_boto3=1.5, upload_vs_single_put_capped=1.0))

    assert phases["detection"].physical == ALARM_PERIOD_SECONDS * ALARM_DATAPOINTS
    assert phases["dump_and_reboot"].physical == dump_write_and_reboot_seconds(16 * GIB)
    line_rate = min(INSTANCE_BYTES_PER_SECOND, DUMP_READ_BYTES_PER_SECOND)  # the dump is read off its volume
    assert phases["upload"].physical == pytest.approx(16 * GIB / line_rate)
    assert [p.physical for name, p in phases.items() if name in ("before_interrupt", "locate", "verify")] == [0, 0, 0]
    assert all(p.own >= 0 for p in phases.values())


def test_the_recovery_polls_end_soon_after_the_reboot_does() -> None:
    phases = model(RESCUE, Inputs(handler_import_vs_boto3=1.5, upload_vs_single_put_capped=1.0))

    recovery = phases["dump_and_reboot"]
    assert recovery.total >= recovery.physical  # never seen back before it is
    assert recovery.own < WAIT_SECONDS / 2  # less than half a poll interval of slack


def test_locate_reads_the_whole_dump_once_to_hash_its_parts() -> None:
    small = model(RESCUE, Inputs(1.5, 1.0, dump_bytes=GIB))["locate"]
    large = model(RESCUE, Inputs(1.5, 1.0, dump_bytes=16 * GIB))["locate"]

    assert large.total - small.total == pytest.approx(15 * GIB / DUMP_READ_BYTES_PER_SECOND)
    assert large.physical == 0  # a second read of the dump: Panic Button's own


def test_parallel_uploads_would_shrink_the_own_share_and_a_slower_import_grows_it() -> None:
    base = own_overhead_share(model(RESCUE, Inputs(handler_import_vs_boto3=1.5, upload_vs_single_put_capped=1.0)))

    assert own_overhead_share(model(RESCUE, Inputs(1.5, upload_vs_single_put_capped=4.0))) < base
    assert own_overhead_share(model(RESCUE, Inputs(3.0, upload_vs_single_put_capped=1.0))) > base


def test_states_after_the_verified_dump_are_not_counted() -> None:
    without = model(RESCUE[:-4], Inputs(1.5, 1.0))
    with_tail = model(RESCUE, Inputs(1.5, 1.0))

    assert {n: p.total for n, p in without.items()} == {n: p.total for n, p in with_tail.items()}


def test_an_awaited_upload_lasts_the_upload_and_no_poll_interval() -> None:
    # Given a collector at line rate (so the upload's own share is only the event path and the steps)
    phases = model(RESCUE, Inputs(1.5, upload_vs_single_put_capped=100.0))
    upload = phases["upload"]

    assert upload.total >= upload.physical
    assert upload.own < WAIT_SECONDS  # less than one poll interval of slack, however long the upload


def test_a_locate_that_raced_its_event_pays_the_fallback_poll() -> None:
    at = RESCUE.index("AwaitLocate") + 1
    raced = [*RESCUE[:at], "PollLocate", "LocateDone?", *RESCUE[at:]]

    assert model(raced, Inputs(1.5, 1.0))["locate"].total > model(RESCUE, Inputs(1.5, 1.0))["locate"].total
