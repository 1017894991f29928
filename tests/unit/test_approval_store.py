"""The approval store in moto's DynamoDB: one right to decide per execution, and who holds it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from panic_button.dal.approval_store import AlreadyDecided, ApprovalRequest, ApprovalStore, approval_key

from .support import INSTANCE, NOW, TABLE_NAME, execution_arn, scan_all

ARN = execution_arn("run-1")
ALICE = "arn:aws:sts::123456789012:assumed-role/oncall/alice"
BOB = "arn:aws:sts::123456789012:assumed-role/oncall/bob"
EXPIRES = int((NOW + timedelta(days=2)).timestamp())


@pytest.fixture
def store(dynamodb: Any) -> ApprovalStore:
    store = ApprovalStore(dynamodb, TABLE_NAME)
    store.put_request(ApprovalRequest(execution_arn=ARN, instance_id=INSTANCE, task_token="token-1",
                                      requested_at=NOW), expires_at=EXPIRES)
    return store


def test_a_request_is_stored_with_its_token_and_ttl(store: ApprovalStore, dynamodb: Any) -> None:
    request = store.get(ARN)

    assert request is not None
    assert (request.task_token, request.instance_id, request.requested_at) == ("token-1", INSTANCE, NOW)
    assert request.decision is None
    [item] = scan_all(dynamodb)
    assert item["expires_at"] == {"N": str(EXPIRES)}
    assert {"pk": item["pk"], "sk": item["sk"]} == approval_key(ARN)


def test_no_request_reads_as_none(dynamodb: Any) -> None:
    assert ApprovalStore(dynamodb, TABLE_NAME).get(ARN) is None


def test_the_first_decision_wins_and_returns_the_token(store: ApprovalStore) -> None:
    decided = store.decide(ARN, decision="approve", decided_by=ALICE, decided_at=NOW, reason="go")

    assert decided.task_token == "token-1"
    assert (decided.decision, decided.decided_by, decided.decided_at, decided.reason) == ("approve", ALICE, NOW, "go")
    with pytest.raises(AlreadyDecided) as second:
        store.decide(ARN, decision="deny", decided_by=BOB, decided_at=NOW + timedelta(minutes=1), reason="no")
    assert str(second.value) == f"already decided (approve) by {ALICE} at 2026-11-20T03:12:41Z"
    stored = store.get(ARN)
    assert stored is not None and (stored.decision, stored.decided_by) == ("approve", ALICE)


def test_deciding_a_run_that_never_asked_is_a_lookup_error(dynamodb: Any) -> None:
    with pytest.raises(LookupError, match="no approval request"):
        ApprovalStore(dynamodb, TABLE_NAME).decide(ARN, decision="approve", decided_by=ALICE, decided_at=NOW,
                                                   reason="")
    assert scan_all(dynamodb) == []  # the conditional update creates no item


def test_a_retried_request_replaces_the_token_only_while_undecided(store: ApprovalStore) -> None:
    store.put_request(ApprovalRequest(execution_arn=ARN, instance_id=INSTANCE, task_token="token-2",
                                      requested_at=NOW), expires_at=EXPIRES)
    replaced = store.get(ARN)
    assert replaced is not None and replaced.task_token == "token-2"

    store.decide(ARN, decision="deny", decided_by=ALICE, decided_at=NOW, reason="drill")
    store.put_request(ApprovalRequest(execution_arn=ARN, instance_id=INSTANCE, task_token="token-3",
                                      requested_at=NOW), expires_at=EXPIRES)

    kept = store.get(ARN)
    assert kept is not None and (kept.task_token, kept.decision, kept.decided_by) == ("token-2", "deny", ALICE)


def test_a_withdrawn_decision_is_only_the_withdrawers_own(store: ApprovalStore) -> None:
    store.decide(ARN, decision="approve", decided_by=ALICE, decided_at=NOW, reason="")

    store.withdraw(ARN, decided_by=BOB)  # not Bob's decision: it stands
    standing = store.get(ARN)
    assert standing is not None and standing.decided_by == ALICE

    store.withdraw(ARN, decided_by=ALICE)
    withdrawn = store.get(ARN)
    assert withdrawn is not None
    assert (withdrawn.decision, withdrawn.decided_by, withdrawn.decided_at, withdrawn.reason) == (None,) * 4
    assert withdrawn.task_token == "token-1"
