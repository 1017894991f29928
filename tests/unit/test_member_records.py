"""A member instance's record and notification name its account and Region; the stack's own name none, as before."""

from __future__ import annotations

from panic_button.logic import notification
from panic_button.logic.outcome import Decision
from panic_button.logic.reporting import build_record
from panic_button.models.state import ExecutionRef, RemediationState, Target
from panic_button.outcomes import Outcome

from .support import INSTANCE, NOW, execution_arn

MEMBER = "222222222222"


def recorded(account: str | None, region: str | None) -> tuple[dict[str, object], str, str]:
    state = RemediationState(
        execution=ExecutionRef(id=execution_arn("run-1")),
        target=Target(instance_id=INSTANCE, reason="hung", dry_run=False, trigger="manual", requested_at=NOW,
                      account=account, region=region))
    record = build_record(state, Decision(Outcome.NOT_RECOVERED, "did not recover"), now=NOW)
    return record.model_dump(mode="json"), notification.subject(record), notification.body(record, console_url="u")


def test_a_member_instance_is_named_with_its_account_and_region() -> None:
    record, subject, body = recorded(MEMBER, "eu-west-1")

    assert (record["account"], record["region"], record["instance_id"]) == (MEMBER, "eu-west-1", INSTANCE)
    assert f"{INSTANCE} in {MEMBER} eu-west-1" in subject
    assert f"Account:   {MEMBER}, eu-west-1" in body


def test_the_stacks_own_instance_reads_as_before() -> None:
    record, subject, body = recorded(None, None)

    assert (record["account"], record["region"]) == (None, None)
    assert " in " not in subject
    assert "Account:" not in body
