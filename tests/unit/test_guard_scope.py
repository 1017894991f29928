"""In an organization hub the guards are scoped to where the instance lives: the lock and cooldown per account,
Region and instance, the rate limit per account and Region (or organization-wide). The stack's own instances,
and every instance of a single-account stack, keep the keys they always had."""

from __future__ import annotations

from typing import Any

import pytest
from panic_button.dal.guard_store import GuardStore
from panic_button.errors import InCooldown, RateLimited
from panic_button.logic.guards import apply_guards
from panic_button.models.state import Guard, Target

from .support import INSTANCE, NOW, TABLE_NAME

MEMBER, OTHER_MEMBER = "222222222222", "333333333333"


def target(account: str | None = None, region: str | None = None) -> Target:
    return Target(instance_id=INSTANCE, reason="hung", dry_run=False, trigger="alarm", requested_at=NOW,
                  account=account, region=region)


def guard(dynamodb: Any, where: Target, owner: str, *, organization_wide: bool = False, rate_limit: int = 5) -> Guard:
    store = GuardStore(dynamodb, TABLE_NAME, organization_wide=organization_wide).for_target(where)
    return apply_guards(store, where, owner=owner, now=NOW, cooldown_seconds=3600, rate_limit=rate_limit,
                        lock_seconds=600)


def keys(dynamodb: Any) -> set[str]:
    return {item["pk"]["S"] for item in dynamodb.scan(TableName=TABLE_NAME)["Items"]}


def test_the_stacks_own_instance_keeps_its_keys(dynamodb: Any) -> None:
    guard(dynamodb, target(), "run-1")

    assert keys(dynamodb) == {f"INSTANCE#{INSTANCE}", "FLEET"}


def test_a_member_instance_is_keyed_by_account_region_and_instance(dynamodb: Any) -> None:
    guard(dynamodb, target(MEMBER, "eu-west-1"), "run-1")

    assert keys(dynamodb) == {f"INSTANCE#{MEMBER}#eu-west-1#{INSTANCE}", f"FLEET#{MEMBER}#eu-west-1"}


def test_the_lock_of_one_account_does_not_hold_the_same_instance_id_elsewhere(dynamodb: Any) -> None:
    guard(dynamodb, target(MEMBER, "eu-west-1"), "run-1")

    with pytest.raises(InCooldown):
        guard(dynamodb, target(MEMBER, "eu-west-1"), "run-2")
    assert guard(dynamodb, target(OTHER_MEMBER, "eu-west-1"), "run-3").lock_owner == "run-3"
    assert guard(dynamodb, target(MEMBER, "us-east-1"), "run-4").lock_owner == "run-4"


def test_the_rate_limit_counts_per_account_and_region_by_default(dynamodb: Any) -> None:
    guard(dynamodb, target(MEMBER, "eu-west-1"), "run-1", rate_limit=1)

    assert guard(dynamodb, target(OTHER_MEMBER, "eu-west-1"), "run-2", rate_limit=1).rate_slot


def test_an_organization_wide_rate_limit_counts_every_account(dynamodb: Any) -> None:
    guard(dynamodb, target(MEMBER, "eu-west-1"), "run-1", organization_wide=True, rate_limit=1)

    with pytest.raises(RateLimited):
        guard(dynamodb, target(OTHER_MEMBER, "us-east-1"), "run-2", organization_wide=True, rate_limit=1)
    assert keys(dynamodb) == {f"INSTANCE#{MEMBER}#eu-west-1#{INSTANCE}",
                              f"INSTANCE#{OTHER_MEMBER}#us-east-1#{INSTANCE}", "FLEET"}
