"""Storm control in the record step: a rate-limited skip is not notified on its own. It joins one storm
window, whose one summary the storm summariser publishes after the window ends (logic/storm_summary.py),
and the first skip that found the breaker tripped sends the one "breaker tripped" notice."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from panic_button.clock import iso
from panic_button.dal.breaker_store import BreakerStore, window_start
from panic_button.dal.record_store import RecordStore
from panic_button.dal.storm_store import Skip, StormStore
from panic_button.models.record import RemediationRecord
from panic_button.outcomes import Outcome

# A window refuses skips once closed or full; the skip then joins the next one. A storm of more than
# MAX_ENTRIES x this many skips in one window is beyond any fleet this serves: the step fails and retries.
_MAX_WINDOWS_AHEAD = 50


@dataclass(frozen=True)
class StormControl:
    storms: StormStore
    breaker: BreakerStore
    window_seconds: int


def summarised(record: RemediationRecord) -> bool:
    """Alarms' rate-limited skips come in storms: they are summarised. Every other outcome is notified alone,
    and so is an operator's own run (manual or dry), which someone is waiting to hear about."""
    return record.outcome is Outcome.SKIPPED_RATE_LIMITED and record.trigger == "alarm" and not record.dry_run


def report_skip(storm: StormControl, records: RecordStore, record: RemediationRecord, *, by_breaker: bool,
                sns: Any, topic_arn: str, now: datetime) -> int:
    """Put the skip in exactly one window, then take the record's notification flag (the summary speaks
    for it) and, for the first breaker skip of a breaker window, send the trip notice. Returns the window."""
    skip = Skip(instance_id=record.instance_id, execution_name=record.execution_name, by_breaker=by_breaker)
    window = join_window(storm, skip, first=window_start(int(record.requested_at.timestamp()), storm.window_seconds))
    at = int(now.timestamp())
    records.claim_notification(record, now=at, claim=uuid.uuid4().hex)
    breaker_window = window_start(int(record.requested_at.timestamp()), storm.window_seconds)
    if by_breaker and storm.breaker.claim_trip_notice(breaker_window, now=at):
        try:
            sns.publish(TopicArn=topic_arn, Subject=trip_subject(),
                        Message=trip_body(record, window=breaker_window, window_seconds=storm.window_seconds),
                        MessageAttributes=attributes("BREAKER_TRIPPED"))
        except ClientError:
            storm.breaker.release_trip_notice(breaker_window)  # nothing went out: a retry of the step sends it
            raise
    return window


def join_window(storm: StormControl, skip: Skip, *, first: int) -> int:
    """The skip's window: the one of its alarm time, or the next open one with room. The walk starts from
    the alarm time, which a retried step shares, so a retry finds the entry an earlier attempt added (in a
    window closed since) instead of adding it a second time."""
    window = first
    for _ in range(_MAX_WINDOWS_AHEAD):
        if storm.storms.try_add(window, skip):
            return window
        joined = storm.storms.read(window)
        if joined is not None and skip in joined.skips:
            return window
        window += storm.window_seconds
    raise RuntimeError(f"no storm window with room within {_MAX_WINDOWS_AHEAD} windows of {iso(_at(first))}")


def trip_subject() -> str:
    return "[Panic Button] ACTION REQUIRED: fleet circuit breaker tripped, interrupts stopped"


def trip_body(record: RemediationRecord, *, window: int, window_seconds: int) -> str:
    return "\n".join([
        "Too many status-check alarms at once: this looks like an outage or a bad deploy, not independent",
        "kernel hangs. Panic Button sends no more interrupts in this window; every further alarm is recorded",
        "as SKIPPED_RATE_LIMITED and listed in one storm summary after the window ends.",
        "",
        f"Reason:    {record.reason}",
        f"Window:    {iso(_at(window))} to {iso(_at(window + window_seconds))}",
        "Resumes:   by itself when the window ends, or now with `panic-button resume`",
    ]) + "\n"


def attributes(outcome: str) -> dict[str, dict[str, str]]:
    """Message attributes of the storm's own messages, in the shape of the per-record ones."""
    return {"outcome": {"DataType": "String", "StringValue": outcome},
            "needs_attention": {"DataType": "String", "StringValue": "true"}}


def _at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)
