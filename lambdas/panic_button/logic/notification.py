"""Step 9c: the one human-readable message per remediation."""

from __future__ import annotations

from panic_button.clock import iso
from panic_button.models.record import RemediationRecord
from panic_button.outcomes import Outcome

_SUBJECT_LIMIT = 100  # SNS: ASCII, no newlines, at most 100 characters

_HEADLINES = {
    Outcome.DUMP_COLLECTED: "crash dump collected",
    Outcome.RECOVERED_NO_DUMP: "recovered, but no crash dump was written",
    Outcome.NOT_RECOVERED: "ACTION REQUIRED: instance did not recover",
    Outcome.COLLECTION_FAILED: "ACTION REQUIRED: recovered, dump not collected",
    Outcome.DRY_RUN: "dry run passed, no interrupt sent",
    Outcome.SKIPPED_NOT_AUTHORIZED: "skipped, instance not opted in",
    Outcome.SKIPPED_NOT_ELIGIBLE: "skipped, instance not eligible",
    Outcome.SKIPPED_ALREADY_HEALTHY: "skipped, instance healthy again",
    Outcome.SKIPPED_COOLDOWN: "skipped, cooldown or remediation in flight",
    Outcome.SKIPPED_RATE_LIMITED: "skipped, fleet rate limit reached",
    Outcome.REJECTED_INVALID_INPUT: "rejected, invalid input",
    Outcome.DENIED_BY_OPERATOR: "denied by an operator, no interrupt sent",
    Outcome.APPROVAL_TIMED_OUT: "no decision in time, no interrupt sent",
    Outcome.WORKFLOW_FAILED: "ACTION REQUIRED: the workflow failed",
    Outcome.WORKFLOW_ABORTED: "ACTION REQUIRED: the workflow was stopped",
}


def headline(outcome: Outcome) -> str:
    return _HEADLINES[outcome]


def subject(record: RemediationRecord) -> str:
    fixed = f"[Panic Button] {record.outcome.value} {record.instance_id}"
    # What hung the kernel says more than "crash dump collected"; an ACTION REQUIRED headline always stays.
    named = record.culprit and not record.outcome.needs_attention
    tail = f": {record.culprit if named else headline(record.outcome)}"
    # The Name tag is the part that gives way, so the outcome and "ACTION REQUIRED" always survive.
    room = _SUBJECT_LIMIT - len(fixed) - len(tail) - 3
    name = _subject_safe(record.instance_name or "")
    if name and room >= 4:
        fixed += f" ({name if len(name) <= room else name[: room - 3] + '...'})"
    text = _subject_safe(fixed + tail)
    return text if len(text) <= _SUBJECT_LIMIT else text[: _SUBJECT_LIMIT - 3] + "..."


def _subject_safe(text: str) -> str:
    """SNS rejects a subject with non-ASCII, line breaks or other control characters (a Name tag may hold any)."""
    return "".join(c if c.isprintable() else " " for c in text.encode("ascii", "replace").decode())


def body(record: RemediationRecord, *, console_url: str) -> str:
    lines = [
        f"Outcome:   {record.outcome.value} - {headline(record.outcome)}",
        *([f"Culprit:   {record.culprit}"] if record.culprit else []),
        f"Reason:    {record.reason}",
        f"Instance:  {record.instance_id}" + (f" ({record.instance_name})" if record.instance_name else "")
        + (f", {record.instance_type}, {record.platform}" if record.instance_type else ""),
        f"Trigger:   {record.trigger}" + (f" ({record.alarm_name})" if record.alarm_name else "")
        + (" [dry run]" if record.dry_run else ""),
        f"Requested: {iso(record.requested_at)}",
    ]
    if record.interrupt_sent_at:
        lines.append(f"Interrupt: {iso(record.interrupt_sent_at)} (+{record.seconds_to_interrupt}s)")
    if record.recovered_at:
        lines.append(f"Recovered: {iso(record.recovered_at)} ({record.seconds_to_recovery}s after the interrupt)")
    if record.fallback:
        lines.append(f"Fallback:  {record.fallback}")
    if record.triage_summary:
        lines += ["", "Triage:", *(f"  {line}" for line in record.triage_summary)]
    if record.artifacts:
        lines += ["", "Artifacts:", *(f"  {a.s3_uri} ({a.bytes} bytes)" for a in record.artifacts)]
    if record.evidence:
        lines += ["", "Evidence captured before the interrupt:", *(f"  {uri}" for uri in record.evidence)]
    if record.evidence_errors:
        lines += ["", "Evidence not captured:", *(f"  {e}" for e in record.evidence_errors)]
    lines += ["", f"Execution: {console_url}"]
    return "\n".join(lines) + "\n"


def console_url(execution_arn: str) -> str:
    region = execution_arn.split(":")[3] if execution_arn.count(":") >= 3 else "us-east-1"
    return f"https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{execution_arn}"
