"""What the approval request says, and who the record names as having decided."""

from __future__ import annotations

import json
from datetime import timedelta

from panic_button.logic.approval import DENIED_ERROR, TIMED_OUT_ERROR, Denial, decided, denial_cause, request_text

from .support import INSTANCE, NOW, execution_arn, remediation_state

ARN = execution_arn("run-1")
ALICE = "arn:aws:sts::123456789012:assumed-role/oncall/alice"
LATER = NOW + timedelta(minutes=20)


def test_a_denial_cause_carries_who_when_and_why() -> None:
    cause = denial_cause(decided_by=ALICE, decided_at=NOW, reason="failover drill")

    denial = Denial.model_validate(json.loads(cause))
    assert (denial.decided_by, denial.decided_at, denial.reason) == (ALICE, NOW, "failover drill")
    assert denial.errorMessage == f"denied by {ALICE} at 2026-11-20T03:12:41Z: failover drill"


def test_a_denial_without_reason_says_so() -> None:
    assert json.loads(denial_cause(decided_by=ALICE, decided_at=NOW, reason=""))["errorMessage"].endswith(
        ": no reason given")


def test_the_record_names_the_approver() -> None:
    state = remediation_state(approval={"decision": "approve", "decided_by": ALICE, "decided_at": NOW.isoformat()})

    assert decided(state, now=LATER) == {"decided_by": ALICE, "decided_at": NOW}


def test_the_record_names_the_denier_from_the_cause() -> None:
    cause = denial_cause(decided_by=ALICE, decided_at=NOW, reason="no")
    state = remediation_state(error={"Error": DENIED_ERROR, "Cause": cause})

    assert decided(state, now=LATER) == {"decided_by": ALICE, "decided_at": NOW}


def test_a_timeout_is_decided_by_the_configuration_when_it_ended() -> None:
    state = remediation_state(error={"Error": TIMED_OUT_ERROR, "Cause": "no decision within 60 minutes"})

    assert decided(state, now=LATER) == {"decided_by": "timeout", "decided_at": LATER}


def test_runs_that_never_waited_name_nobody() -> None:
    assert decided(remediation_state(), now=LATER) == {}
    assert decided(remediation_state(error={"Error": "States.TaskFailed", "Cause": "boom"}), now=LATER) == {}
    # A denial whose cause is not ours (sent by hand with the AWS CLI): no decider is made up.
    assert decided(remediation_state(error={"Error": DENIED_ERROR, "Cause": "by hand"}), now=LATER) == {}


def test_the_request_names_the_commands_the_deadline_and_the_evidence() -> None:
    text = request_text(execution_arn=ARN, instance_id=INSTANCE, instance_name="db-primary", timeout_minutes=60,
                        heartbeat_minutes=15, on_timeout="deny", evidence=["s3://b/console.txt"],
                        console_url="https://console/x")

    assert f"{INSTANCE} (db-primary)" in text
    for command in (f"panic-button approve {ARN}", f"panic-button deny {ARN} --reason TEXT",
                    f"panic-button hold {ARN}"):
        assert f"  {command}\n" in text
    assert "within 60 minutes, or a hold within every 15 minutes, the configuration decides: deny." in text
    assert "  s3://b/console.txt\n" in text and text.endswith("Execution: https://console/x\n")
