"""Step 9: record, release the guards, notify and count: exactly once per execution."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from panic_button.dal.guard_store import GuardStore
from panic_button.dal.record_store import RecordStore
from panic_button.errors import STOP_ERRORS
from panic_button.logic import notification
from panic_button.logic.approval import decided
from panic_button.logic.outcome import Decision, message_from_cause
from panic_button.logic.storm import StormControl, report_skip, summarised
from panic_button.models.record import RemediationRecord
from panic_button.models.state import RemediationState, Target
from panic_button.outcomes import Outcome

_COOLDOWN_RECORD_SECONDS = 8 * 86400  # outlives the longest configurable cooldown (7 days)
_PRINTABLE_ID = re.compile(r"^[A-Za-z0-9-]{1,40}$")
_EXCERPT_INSTANCE = re.compile(r'began: \{.*?"instance_id":"([A-Za-z0-9-]{1,40})"')
# Far longer than the record step's own retries (about a minute of backoff plus the Lambda runs).
_RETRY_HORIZON = timedelta(hours=1)


@dataclass(frozen=True)
class Reported:
    record: RemediationRecord
    message_id: str | None


def build_record(state: RemediationState, decision: Decision, *, now: datetime) -> RemediationRecord:
    target = state.target or _unresolved_target(state, now)
    instance, interrupt, recovery = state.instance, state.interrupt, state.recovery
    sent_at = interrupt.sent_at if interrupt else None
    recovered_at = recovery.recovered_at if recovery else None
    evidence = state.evidence
    return RemediationRecord(
        instance_id=target.instance_id,
        account=target.account,
        region=target.region,
        execution_id=state.execution.id,
        execution_name=state.execution.name,
        outcome=decision.outcome,
        reason=decision.reason,
        trigger=target.trigger,
        alarm_name=target.alarm_name,
        dry_run=target.dry_run,
        platform=instance.platform if instance else None,
        instance_type=instance.instance_type if instance else None,
        instance_name=instance.name if instance else None,
        requested_at=target.requested_at,
        interrupt_sent_at=sent_at,
        recovered_at=recovered_at,
        collected_at=state.collection.collected_at if state.collection else None,
        finished_at=now,
        seconds_to_interrupt=_seconds(target.requested_at, sent_at),
        seconds_to_recovery=_seconds(sent_at, recovered_at),
        evidence=[u for u in (evidence.console_output_uri, evidence.screenshot_uri) if u] if evidence else [],
        evidence_errors=evidence.errors if evidence else [],
        artifacts=state.collection.artifacts if state.collection else [],
        triage_summary=_triage_summary(state),
        culprit=state.triage.culprit if state.triage else None,
        fallback=state.fallback.detail if state.fallback else None,
        **decided(state, now=now),
    )


def report(
    state: RemediationState,
    decision: Decision,
    *,
    records: RecordStore,
    guards: GuardStore,
    sns: Any,
    topic_arn: str,
    now: datetime,
    retention_days: int,
    publish: bool = True,
    storm: StormControl | None = None,
) -> Reported:
    record = build_record(state, decision, now=now)
    if state.target is None:
        # Rejected input has no requested_at of its own, so a retried report would key a second record:
        # reuse the time of the record an earlier attempt of this execution wrote.
        earlier = records.find_requested_at(record.instance_id, record.execution_name,
                                            since=now - _RETRY_HORIZON, until=now)
        if earlier is not None:
            record = record.model_copy(update={"requested_at": earlier})
    expires_at = int((now + timedelta(days=retention_days)).timestamp())
    records.put_once(record, expires_at=expires_at)
    _release_guards(state, guards, now=now)
    if not publish:  # someone else already told the topic (NotifyRecordFailure): only take the flag
        records.claim_notification(record, now=int(now.timestamp()), claim=uuid.uuid4().hex)
        return Reported(record=record, message_id=None)
    if storm is not None and summarised(record):
        by_breaker = state.error is not None and state.error.error == "BreakerOpen"
        report_skip(storm, records, record, by_breaker=by_breaker, sns=sns, topic_arn=topic_arn, now=now)
        return Reported(record=record, message_id=None)
    message_id = notify_once(records, record, sns=sns, topic_arn=topic_arn,
                             console_url=notification.console_url(state.execution.id), now=now)
    return Reported(record=record, message_id=message_id)


def notify_once(records: RecordStore, record: RemediationRecord, *, sns: Any, topic_arn: str, console_url: str,
                now: datetime) -> str | None:
    """Publish the record's one message; None when it was already claimed (by an earlier attempt of this
    step, or by the aborted-run recorder).

    A failure before the publish answered (the claim's own write, or the publish itself) gives the claim
    back for a retry, so a lost answer never loses the message; SNS standard topics deliver at least once
    anyway. A failure after it (a crash, a timeout, a failed write of the message ID) keeps the claim: a
    message known to be out is never sent again."""
    claim = uuid.uuid4().hex
    try:
        if not records.claim_notification(record, now=int(now.timestamp()), claim=claim):
            return None
        response = sns.publish(
            TopicArn=topic_arn,
            Subject=notification.subject(record),
            Message=notification.body(record, console_url=console_url),
            MessageAttributes={
                "outcome": {"DataType": "String", "StringValue": record.outcome.value},
                "instance_id": {"DataType": "String", "StringValue": record.instance_id},
                "execution": {"DataType": "String", "StringValue": record.execution_name},
                "needs_attention": {"DataType": "String",
                                    "StringValue": str(record.outcome.needs_attention).lower()},
            },
        )
    except Exception:
        records.release_notification(record, claim)
        raise
    message_id = str(response["MessageId"])
    records.mark_notified(record, message_id)
    return message_id


def _release_guards(state: RemediationState, guards: GuardStore, *, now: datetime) -> None:
    guard = state.guard
    if guard is None or guard.dry_run or guard.lock_owner is None:
        return
    instance_id = state.require_target().instance_id
    interrupted = state.interrupt is not None and state.interrupt.sent
    if interrupted and state.interrupt is not None and state.interrupt.sent_at is not None:
        # Again, in case SendInterrupt could not write it: the cooldown must hold whatever happened since.
        at = int(state.interrupt.sent_at.timestamp())
        guards.mark_interrupted(instance_id, at=at, expires_at=at + _COOLDOWN_RECORD_SECONDS)
    elif interrupt_may_have_gone_out(state):
        # SendInterrupt broke after reaching EC2, perhaps after the call: assume it went out, so the
        # cooldown holds and the fleet slot stays counted. Erring the other way could crash a machine twice.
        at = int(now.timestamp())
        guards.mark_interrupted(instance_id, at=at, expires_at=at + _COOLDOWN_RECORD_SECONDS)
    elif not interrupted and guard.rate_slot:
        # No interrupt went out (healthy again, unsupported...): give the fleet slot back.
        guards.release_interrupt_slot(guard.rate_slot, now=int(now.timestamp()))
    guards.release_lock(instance_id, guard.lock_owner)


def interrupt_may_have_gone_out(state: RemediationState) -> bool:
    """The workflow passed ConfirmImpaired, has no SendInterrupt result, and failed unexpectedly.
    A run that waits for approval reaches SendInterrupt only with an approval: before it, nothing went out."""
    waiting = state.instance is not None and state.instance.approval_required and state.approval is None
    return (state.impairment is not None and state.interrupt is None and state.error is not None
            and state.error.error not in STOP_ERRORS and not waiting)


def _unresolved_target(state: RemediationState, now: datetime) -> Target:
    """Invalid input never produced a target; record it under the instance the input names, if readable,
    else a recognisable placeholder. The input itself is not in the state: ResolveTarget's rejection ends
    with a bounded excerpt of it (logic/targets.py), and a manual request names its instance first."""
    raw = state.input if isinstance(state.input, dict) else {}
    excerpt = message_from_cause(state.error.cause) if state.error else ""
    named = _EXCERPT_INSTANCE.search(excerpt)
    candidate = raw.get("instance_id", named.group(1) if named else None)
    readable = isinstance(candidate, str) and _PRINTABLE_ID.fullmatch(candidate) is not None
    return Target.model_construct(
        instance_id=str(candidate) if readable else "unknown",
        reason="",
        dry_run=False,
        trigger="alarm" if "detail-type" in raw or '"detail-type"' in excerpt else "manual",
        alarm_name=None,
        requested_at=now,
    )


def _triage_summary(state: RemediationState) -> list[str]:
    if state.triage is not None:
        return state.triage.summary
    if state.triage_error is not None:
        return [f"Triage failed ({state.triage_error.error}); the dump itself is collected and verified."]
    return []


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return int((end - start).total_seconds())


def outcome_is_failure(outcome: Outcome) -> bool:
    return outcome is Outcome.WORKFLOW_FAILED
