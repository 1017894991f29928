"""Step 9a: decide how the remediation ended from the state document. Pure: one place holds the rules."""

from __future__ import annotations

import json
from dataclasses import dataclass

from panic_button.errors import STOP_ERRORS
from panic_button.models.state import RemediationState
from panic_button.outcomes import Outcome


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str


def decide_outcome(state: RemediationState) -> Decision:
    if state.error is not None:
        decision = _from_error(state.error.error, state.error.cause)
        if state.abandon is None and state.abandon_error is None:
            return decision
        # The failure happened while collecting: the instance is back, the dump was not fetched.
        outcome = Outcome.COLLECTION_FAILED if decision.outcome is Outcome.WORKFLOW_FAILED else decision.outcome
        return Decision(outcome, f"{decision.reason}; {_cleanup(state)}")
    if state.interrupt is not None and not state.interrupt.sent:
        checked = " (IAM permission verified with DryRun)" if state.interrupt.permission_checked else ""
        return Decision(Outcome.DRY_RUN, f"dry run: every check passed, no interrupt sent{checked}")
    if state.collection is not None and state.collection.artifacts:
        dump = state.collection.artifacts[0]
        return Decision(
            Outcome.DUMP_COLLECTED, f"crash dump collected and verified: {dump.s3_uri} ({dump.bytes} bytes)"
        )
    return Decision(Outcome.WORKFLOW_FAILED, "the workflow reached its end without an outcome")


def _cleanup(state: RemediationState) -> str:
    if state.abandon is not None:
        return state.abandon.detail
    failed = state.abandon_error.error if state.abandon_error else "unknown error"
    return f"the cleanup itself failed ({failed}): the manifests' presigned URLs may still be live"


def _from_error(name: str, cause: str) -> Decision:
    message = message_from_cause(cause)
    stop = STOP_ERRORS.get(name)
    if stop is not None:
        return Decision(stop.outcome, message or name)
    return Decision(Outcome.WORKFLOW_FAILED, f"{name}: {message}" if message else name)


def message_from_cause(cause: str) -> str:
    """A Lambda error's Cause is JSON with errorMessage; other causes are plain text."""
    try:
        parsed = json.loads(cause)
    except (ValueError, TypeError):
        return cause[:1000]
    if isinstance(parsed, dict):
        return str(parsed.get("errorMessage") or parsed.get("Cause") or cause)[:1000]
    return cause[:1000]
