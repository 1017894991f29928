"""The storm summariser, run every minute by a schedule: one message per ended storm window, with the
counts and the instance IDs of every skip in it.

A window is due once its last alarm time has passed. It is first closed (a skip recorded later joins a
later window), then read, then claimed and published. Everything before the claim may fail and is simply
redone by the next run; SNS refusing the message gives the claim back. Only a run killed between the
claim and SNS's answer leaves the claim taken: that window is not summarised twice, as with the
per-record notification (logic/reporting.py), and `panic-button history` still lists each of its skips."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from panic_button.clock import iso
from panic_button.dal.storm_store import StormStore, StormWindow
from panic_button.logic.storm import attributes

_SUBJECT_LIMIT = 100


@dataclass(frozen=True)
class Summarised:
    window: int
    skips: int
    message_id: str


def publish_due_summaries(store: StormStore, *, sns: Any, topic_arn: str, now: datetime,
                          window_seconds: int) -> list[Summarised]:
    """Summarise every window that ended by `now`. A window SNS refused is left for the next run, after
    the others are tried; the run then fails, so the refusal shows in the function's errors."""
    at = int(now.timestamp())
    published: list[Summarised] = []
    refused: ClientError | None = None
    for start in store.open_windows():
        if start + window_seconds > at:
            continue
        store.close(start, now=at)
        window = store.read(start)
        if window is None or not store.claim_summary(start, now=at):
            continue
        try:
            response = sns.publish(TopicArn=topic_arn, Subject=summary_subject(window),
                                   Message=summary_body(window, window_seconds=window_seconds),
                                   MessageAttributes=attributes("STORM_SUMMARY"))
        except ClientError as error:
            store.release_summary(start)
            refused = error
            continue
        message_id = str(response["MessageId"])
        store.mark_summarised(start, message_id)
        published.append(Summarised(window=start, skips=len(window.skips), message_id=message_id))
    if refused is not None:
        raise refused
    return published


def summary_subject(window: StormWindow) -> str:
    return (f"[Panic Button] storm: {len(window.skips)} alarms skipped (rate limit or breaker) "
            f"from {iso(_at(window.start))}")[:_SUBJECT_LIMIT]


def summary_body(window: StormWindow, *, window_seconds: int) -> str:
    """Every instance ID: at most MAX_ENTRIES of about 20 characters fit well inside SNS's 256 KB."""
    return "\n".join([
        f"Window:               {iso(_at(window.start))} to {iso(_at(window.start + window_seconds))}",
        f"Skipped, rate limit:  {len(window.rate_limited)}",
        f"Skipped, breaker:     {len(window.breaker)}",
        "",
        "No interrupt was sent to these instances. Each has its own SKIPPED_RATE_LIMITED record",
        "(`panic-button history`); start a rescue by hand with `panic-button start INSTANCE` where one is",
        "still hung.",
        "",
        *(f"  {instance_id}  breaker" for instance_id in window.breaker),
        *(f"  {instance_id}  rate limit" for instance_id in window.rate_limited),
    ]) + "\n"


def _at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)
