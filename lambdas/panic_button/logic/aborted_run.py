"""The aborted-run recorder: one outcome for an execution that ended without RecordOutcome (stopped from
outside, timed out, failed past every retry, or out of history). It learns everything from the execution
itself: the history's newest state document says which instance, which lock, whether the interrupt went
out and what was being collected; the ending's error and cause say who or what ended it. Then it does
what RecordOutcome would have: the conditional put, the guards, the one notification."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from panic_button.clock import iso
from panic_button.dal.guard_store import GuardStore
from panic_button.dal.record_store import RecordStore
from panic_button.logic.aborted_cleanup import clean_up_collection
from panic_button.logic.execution_history import LastKnown, read_last_known
from panic_button.logic.outcome import Decision, decide_outcome, message_from_cause
from panic_button.logic.reporting import interrupt_may_have_gone_out, report
from panic_button.models.execution_events import ExecutionStatusDetail
from panic_button.models.state import ExecutionRef, RemediationState, StepError
from panic_button.outcomes import Outcome

# The workflow's last states (infra/constructs/remediation_workflow.py): once there, the outcome was decided.
RECORD_STATES = ("RecordOutcome", "NotifyRecordFailure", "RecordFailed")
RECORD_FAILED = "RecordFailed"  # its Fail state's error: NotifyRecordFailure already told the topic
GUARD_STATE = "ApplyGuards"


@dataclass(frozen=True)
class Services:
    sfn: Any
    ssm: Any
    s3: Any
    sns: Any
    records: RecordStore
    guards: GuardStore


@dataclass(frozen=True)
class RecorderSettings:
    topic_arn: str
    bucket: str
    evidence_prefix: str
    retention_days: int
    workflow_timeout_seconds: int | None


@dataclass(frozen=True)
class AbortedRunResult:
    outcome: Outcome | None  # None: RecordOutcome had already recorded this execution
    reason: str
    instance_id: str | None = None
    message_id: str | None = None


def record_aborted_run(detail: ExecutionStatusDetail, services: Services, settings: RecorderSettings, *,
                       now: datetime) -> AbortedRunResult:
    last = read_last_known(services.sfn, detail.execution_arn)
    if last.document is not None and "outcome" in last.document:
        return AbortedRunResult(None, f"RecordOutcome already recorded it before the execution {detail.status}")
    error = last.error or detail.error
    cause = last.cause or detail.cause
    state = _state(detail, last)
    services = replace(services, guards=services.guards.for_target(state.target))  # a member's own guard items
    # Ended in the record step: the outcome was decided, only its record is missing. Say what it was.
    decided = decide_outcome(state) if last.state in RECORD_STATES else None
    if state.error is None:
        # The run broke outside every Catch: that is the error the guards go by.
        ending = StepError.model_validate({"Error": error or f"Execution.{detail.status}", "Cause": cause or ""})
        state = state.model_copy(update={"error": ending})
    decision = _decide(detail, last, state, error=error, cause=cause, settings=settings)
    if decided is not None:
        decision = Decision(decision.outcome, f"{decision.reason}; the record step was to record "
                                              f"{decided.outcome.value}: {decided.reason}")
    cleanup = _clean_up(services, state, settings)
    if cleanup:
        decision = Decision(decision.outcome, f"{decision.reason}; {cleanup}")
    reported = report(state, decision, records=services.records, guards=services.guards, sns=services.sns,
                      topic_arn=settings.topic_arn, now=now, retention_days=settings.retention_days,
                      publish=error != RECORD_FAILED)
    if state.target is not None and state.guard is None and last.state == GUARD_STATE:
        # ApplyGuards was running: it may have taken the lock and a slot without its result reaching the
        # state. Both are named after the execution; no interrupt can have gone out before it returned.
        # Released only now that the record is written: a guard step still running checks for the record
        # after it takes them (guards.apply_guards), so between the two nothing is left held.
        services.guards.release_lock(state.target.instance_id, state.execution.name)
        services.guards.release_slots_of(state.execution.name, now=int(now.timestamp()))
    return AbortedRunResult(decision.outcome, decision.reason, reported.record.instance_id, reported.message_id)


def _decide(detail: ExecutionStatusDetail, last: LastKnown, state: RemediationState, *, error: str | None,
            cause: str | None, settings: RecorderSettings) -> Decision:
    where = f" in {last.state}" if last.state and last.running else (f" after {last.state}" if last.state else "")
    if detail.status == "ABORTED":
        return Decision(Outcome.WORKFLOW_ABORTED, f"stopped from outside (StopExecution){where}"
                                                  f"{_because(error, cause)}{_interrupt(state)}")
    if detail.status == "TIMED_OUT":
        limit = settings.workflow_timeout_seconds
        timeout = f"the workflow timeout ({limit // 60} min)" if limit else "the workflow timeout"
        return Decision(Outcome.WORKFLOW_FAILED, f"States.Timeout: the execution ran past {timeout}{where}"
                                                 f"{_interrupt(state)}")
    return Decision(Outcome.WORKFLOW_FAILED, f"{error or 'the execution failed'}{where}"
                                             f"{': ' + message_from_cause(cause) if cause else ''}{_interrupt(state)}")


def _because(error: str | None, cause: str | None) -> str:
    said = ": ".join(part for part in (error, cause) if part)
    return f" ({said})" if said else ""


def _interrupt(state: RemediationState) -> str:
    interrupt = state.interrupt
    if interrupt is not None and interrupt.sent:
        at = f" at {iso(interrupt.sent_at)}" if interrupt.sent_at else ""
        return f"; the interrupt was sent{at}, so the cooldown holds"
    if interrupt_may_have_gone_out(state):
        return "; it ended during SendInterrupt, so the interrupt may have gone out and the cooldown holds"
    return "; no interrupt was sent"


def _clean_up(services: Services, state: RemediationState, settings: RecorderSettings) -> str | None:
    try:
        return clean_up_collection(services.ssm, services.s3, state, bucket=settings.bucket,
                                   root=settings.evidence_prefix)
    except Exception as error:  # the record matters more than the sweep; say what is left
        return f"the cleanup of the collection failed ({type(error).__name__}: {error}); check the evidence prefix"


def _state(detail: ExecutionStatusDetail, last: LastKnown) -> RemediationState:
    """The newest state document; before Begin has run there is only the raw input."""
    if last.document is not None and "execution" in last.document:
        try:
            return RemediationState.model_validate(last.document)
        except ValidationError:
            pass  # a document only the workflow writes; fall back to what the execution itself says
    return RemediationState(execution=ExecutionRef(id=detail.execution_arn, name=detail.name),
                            input=last.document.get("input", last.document) if last.document else None)
