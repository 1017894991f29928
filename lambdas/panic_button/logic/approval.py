"""The human in the loop: what the approval request says, and who decided a run that waited for one.

The workflow's RequestApproval task (`.waitForTaskToken`) stores the task token and publishes the
request; `panic-button approve|deny` answers it. A denial arrives as the error `DeniedByOperator`, whose
cause carries the decision as JSON; an approval arrives as the `approval` part."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from panic_button.clock import iso
from panic_button.models.state import RemediationState

DENIED_ERROR = "DeniedByOperator"
TIMED_OUT_ERROR = "ApprovalTimedOut"
TIMEOUT_DECIDER = "timeout"  # decided_by when the wait ended and the configuration decided


class Denial(BaseModel):
    """The cause `panic-button deny` sends with SendTaskFailure (errorMessage: what the record's reason shows)."""

    model_config = ConfigDict(extra="ignore")
    errorMessage: str  # the key message_from_cause reads
    decided_by: str
    decided_at: datetime
    reason: str = ""


def denial_cause(*, decided_by: str, decided_at: datetime, reason: str) -> str:
    message = f"denied by {decided_by} at {iso(decided_at)}: {reason or 'no reason given'}"
    return Denial(errorMessage=message, decided_by=decided_by, decided_at=decided_at,
                  reason=reason).model_dump_json()


def decided(state: RemediationState, *, now: datetime) -> dict[str, Any]:
    """`decided_by` and `decided_at` for the record; empty for a run that never waited for a decision."""
    if state.approval is not None:
        return {"decided_by": state.approval.decided_by, "decided_at": state.approval.decided_at}
    if state.error is None:
        return {}
    if state.error.error == TIMED_OUT_ERROR:
        return {"decided_by": TIMEOUT_DECIDER, "decided_at": now}
    if state.error.error == DENIED_ERROR:
        try:
            denial = Denial.model_validate(json.loads(state.error.cause))
        except ValueError:
            return {}
        return {"decided_by": denial.decided_by, "decided_at": denial.decided_at}
    return {}


def request_text(*, execution_arn: str, instance_id: str, instance_name: str | None, timeout_minutes: int,
                 heartbeat_minutes: int, on_timeout: str, evidence: list[str], console_url: str) -> str:
    """The approval request: what waits, and the exact commands that answer it."""
    named = f"{instance_id} ({instance_name})" if instance_name else instance_id
    lines = [
        f"Panic Button is ready to send a diagnostic interrupt to {named}, which is opted in with approval.",
        "Every check passed and the evidence is captured. Nothing is sent until someone decides.",
        "",
        "Approve (the instance is re-checked first; if it recovered, nothing is sent):",
        f"  panic-button approve {execution_arn}",
        "Deny:",
        f"  panic-button deny {execution_arn} --reason TEXT",
        "Still looking (resets the heartbeat window):",
        f"  panic-button hold {execution_arn}",
        "",
        f"Without a decision within {timeout_minutes} minutes, or a hold within every {heartbeat_minutes} "
        f"minutes, the configuration decides: {on_timeout}.",
    ]
    if evidence:
        lines += ["", "Evidence:", *(f"  {uri}" for uri in evidence)]
    lines += ["", f"Execution: {console_url}"]
    return "\n".join(lines) + "\n"
