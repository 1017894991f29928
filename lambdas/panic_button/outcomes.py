"""The service's public vocabulary: how one remediation ended."""

from enum import StrEnum


class Outcome(StrEnum):
    DUMP_COLLECTED = "DUMP_COLLECTED"
    RECOVERED_NO_DUMP = "RECOVERED_NO_DUMP"
    NOT_RECOVERED = "NOT_RECOVERED"
    COLLECTION_FAILED = "COLLECTION_FAILED"
    DRY_RUN = "DRY_RUN"
    SKIPPED_NOT_AUTHORIZED = "SKIPPED_NOT_AUTHORIZED"
    SKIPPED_NOT_ELIGIBLE = "SKIPPED_NOT_ELIGIBLE"
    SKIPPED_ALREADY_HEALTHY = "SKIPPED_ALREADY_HEALTHY"
    SKIPPED_COOLDOWN = "SKIPPED_COOLDOWN"
    SKIPPED_RATE_LIMITED = "SKIPPED_RATE_LIMITED"
    REJECTED_INVALID_INPUT = "REJECTED_INVALID_INPUT"
    # An instance opted in with the approval value: a person said no, or nobody answered in time.
    DENIED_BY_OPERATOR = "DENIED_BY_OPERATOR"
    APPROVAL_TIMED_OUT = "APPROVAL_TIMED_OUT"
    # The workflow itself broke (a bug or an AWS outage): recorded and notified, execution FAILED.
    WORKFLOW_FAILED = "WORKFLOW_FAILED"
    # Stopped from outside (StopExecution): recorded by the aborted-run recorder, execution ABORTED.
    WORKFLOW_ABORTED = "WORKFLOW_ABORTED"

    @property
    def is_success(self) -> bool:
        return self in (Outcome.DUMP_COLLECTED, Outcome.DRY_RUN)

    @property
    def needs_attention(self) -> bool:
        """Outcomes that page a human: the instance may still be down or the evidence is missing."""
        return self in (Outcome.NOT_RECOVERED, Outcome.COLLECTION_FAILED, Outcome.WORKFLOW_FAILED,
                        Outcome.WORKFLOW_ABORTED)
