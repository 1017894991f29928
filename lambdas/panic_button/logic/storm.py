"""Storm control in the record step: a rate-limited skip is not notified on its own. It joins its storm
window's summary, and the skip that found the breaker tripped sends the one "breaker tripped" notice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from panic_button.clock import iso
from panic_button.dal.breaker_store import BreakerStore, window_start
from panic_button.dal.record_store import RecordStore
from panic_button.dal.storm_store import StormSkips, StormStore
from panic_button.models.record import RemediationRecord
from panic_button.outcomes import Outcome

_LISTED_IDS = 200  # an SNS message holds 256 KB; the record of every skip holds the rest


@dataclass(frozen=True)
class StormControl:
    storms: StormStore
    breaker: BreakerStore
    window_seconds: int


def summarised(record: RemediationRecord) -> bool:
    """Rate-limited skips come in storms: they are summarised, every other outcome is notified alone."""
    return record.outcome is Outcome.SKIPPED_RATE_LIMITED and not record.dry_run


def report_skip(storm: StormControl, records: RecordStore, record: RemediationRecord, *, by_breaker: bool,
                sns: Any, topic_arn: str, now: datetime) -> int | None:
    """Take the record's notification flag (the summary speaks for it), add the skip to its window and,
    for the first breaker skip of a window, send the trip notice. Returns the window when this execution
    opened it and so owes its summary."""
    at = int(now.timestamp())
    records.claim_notification(record, now=at)
    window = window_start(int(record.requested_at.timestamp()), storm.window_seconds)
    opened = storm.storms.add_skip(window, execution_name=record.execution_name, instance_id=record.instance_id,
                                   by_breaker=by_breaker, window_seconds=storm.window_seconds)
    if by_breaker and storm.breaker.claim_trip_notice(window, now=at):
        try:
            sns.publish(TopicArn=topic_arn, Subject=trip_subject(),
                        Message=trip_body(record, window=window, window_seconds=storm.window_seconds),
                        MessageAttributes=_attributes("BREAKER_TRIPPED"))
        except ClientError:
            storm.breaker.release_trip_notice(window)  # nothing went out: a retry of the step sends it
            raise
    return window if opened else None


def trip_subject() -> str:
    return "[Panic Button] ACTION REQUIRED: fleet circuit breaker tripped, interrupts stopped"


def trip_body(record: RemediationRecord, *, window: int, window_seconds: int) -> str:
    ends = datetime.fromtimestamp(window + window_seconds, tz=UTC)
    return "\n".join([
        "Too many status-check alarms at once: this looks like an outage or a bad deploy, not independent",
        "kernel hangs. Panic Button sends no more interrupts in this window; every further alarm is recorded",
        "as SKIPPED_RATE_LIMITED and summarised in one message at the end of the window.",
        "",
        f"Reason:    {record.reason}",
        f"Window:    {iso(datetime.fromtimestamp(window, tz=UTC))} to {iso(ends)}",
        "Resumes:   by itself when the window ends, or now with `panic-button resume`",
    ]) + "\n"


def summary_subject(skips: StormSkips, *, window: int) -> str:
    total = len(skips.rate_limited) + len(skips.breaker)
    return (f"[Panic Button] storm: {total} alarms skipped (rate limit or breaker) "
            f"from {iso(datetime.fromtimestamp(window, tz=UTC))}")[:100]


def summary_body(skips: StormSkips, *, window: int, window_seconds: int) -> str:
    ids = [*skips.breaker, *skips.rate_limited]
    listed = ids[:_LISTED_IDS]
    lines = [
        f"Window:               {iso(datetime.fromtimestamp(window, tz=UTC))} to "
        f"{iso(datetime.fromtimestamp(window + window_seconds, tz=UTC))}",
        f"Skipped, rate limit:  {len(skips.rate_limited)}",
        f"Skipped, breaker:     {len(skips.breaker)}",
        "",
        "Instances (each has its own SKIPPED_RATE_LIMITED record; `panic-button history`):",
        *(f"  {instance_id}" for instance_id in listed),
    ]
    if len(ids) > len(listed):
        lines.append(f"  ... and {len(ids) - len(listed)} more")
    return "\n".join(lines) + "\n"


def _attributes(outcome: str) -> dict[str, dict[str, str]]:
    return {"outcome": {"DataType": "String", "StringValue": outcome},
            "needs_attention": {"DataType": "String", "StringValue": "true"}}
