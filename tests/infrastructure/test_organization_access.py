"""Who can reach into a member account and onto the hub bus, decided by the sandbox's IAM evaluator
(panic_button_sandbox/iam/cross_account.py) on the synthesized hub and member policies: the hub's step roles
may assume the member role only with the execution name, nothing else may, the member role cannot interrupt an
instance without the opt-in tag, and only the organization may put events on the hub bus."""

from __future__ import annotations

from typing import Any

import pytest
from organization_templates import of_type
from plausible_arns import ACCOUNT, resolve

from panic_button_sandbox.iam.cross_account import (
    assume_role_context,
    evaluate_cross_account,
    organization_context,
)
from panic_button_sandbox.iam.policies import Caller, Outcome, Request, Statement, evaluate

# The member template resolves its own account to the plausible one; the hub's is the configured hub account.
MEMBER_ACCOUNT, OUTSIDER = ACCOUNT, "999999999999"
EXECUTION = "alarm-i-0abc1234def567890-20260601T120000"
TRUST_ACTIONS = ("sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession")


def _role_statements(template: dict[str, Any], role_id: str) -> list[Statement]:
    return [statement for policy in of_type(template, "AWS::IAM::Policy").values()
            if {"Ref": role_id} in policy["Properties"]["Roles"]
            for statement in resolve(policy["Properties"]["PolicyDocument"], template["Resources"])["Statement"]]


def _role_id(template: dict[str, Any], logical_prefix: str) -> str:
    (role_id,) = [logical_id for logical_id in of_type(template, "AWS::IAM::Role") if logical_id.startswith(
        logical_prefix)]
    return role_id


@pytest.fixture(scope="module")
def org(example_settings: dict[str, Any]) -> str:
    return str(example_settings["panic-button:organization-id"])


@pytest.fixture(scope="module")
def member_role(member: dict[str, Any]) -> tuple[str, list[Statement], list[Statement]]:
    """The member role's ARN in MEMBER_ACCOUNT, its trust statements and its identity statements."""
    role_id = _role_id(member, "HubAccessRole")
    properties = member["Resources"][role_id]["Properties"]
    name = resolve(properties["RoleName"], member["Resources"])
    trust = resolve(properties["AssumeRolePolicyDocument"], member["Resources"])["Statement"]
    return f"arn:aws:iam::{MEMBER_ACCOUNT}:role/{name}", trust, _role_statements(member, role_id)


def _hub_step(hub: dict[str, Any], example_settings: dict[str, Any], step: str) -> tuple[Caller, list[Statement]]:
    role_id = _role_id(hub, f"Steps{step}Role")
    properties = hub["Resources"][role_id]["Properties"]
    name = resolve(properties.get("RoleName", role_id.lower()), hub["Resources"])
    account = example_settings["panic-button:hub-account"]
    return Caller(account=account, role_arn=f"arn:aws:iam::{account}:role/{name}"), _role_statements(hub, role_id)


def _assume(caller: Caller, identity: list[Statement], role: tuple[str, list[Statement], list[Statement]], *,
            source_identity: str | None, tags: dict[str, str], principal_org: str | None,
            resource_org: str | None) -> set[Outcome]:
    arn, trust, _ = role
    context = assume_role_context(source_identity=source_identity, tags=tags, principal_org=principal_org,
                                  resource_org=resource_org)
    return {evaluate_cross_account(Request(caller, action, arn, context), identity, trust).outcome
            for action in TRUST_ACTIONS}


def test_a_hub_step_assumes_the_member_role_with_the_execution_name(hub: dict[str, Any], member_role: Any,
                                                                    example_settings: dict[str, Any],
                                                                    org: str) -> None:
    caller, identity = _hub_step(hub, example_settings, "SendInterrupt")
    tags = {"panic-button:execution": EXECUTION}
    assert _assume(caller, identity, member_role, source_identity=EXECUTION, tags=tags, principal_org=org,
                   resource_org=org) == {Outcome.ALLOWED}
    # Without the source identity, or without the execution tag, the member account refuses the session.
    assert _assume(caller, identity, member_role, source_identity=None, tags=tags, principal_org=org,
                   resource_org=org) == {Outcome.NO_RESOURCE_ALLOW}
    assert _assume(caller, identity, member_role, source_identity=EXECUTION, tags={}, principal_org=org,
                   resource_org=org) == {Outcome.NO_RESOURCE_ALLOW}
    # A second, unexpected session tag is refused too.
    assert _assume(caller, identity, member_role, source_identity=EXECUTION, tags={**tags, "team": "x"},
                   principal_org=org, resource_org=org) == {Outcome.NO_RESOURCE_ALLOW}


def test_nothing_but_the_hub_step_roles_assumes_the_member_role(hub: dict[str, Any], member_role: Any,
                                                                example_settings: dict[str, Any],
                                                                org: str) -> None:
    tags = {"panic-button:execution": EXECUTION}
    # A hub role that does not work in members (RecordOutcome), even if its policy were to grant AssumeRole.
    record_outcome, _ = _hub_step(hub, example_settings, "RecordOutcome")
    _, step_grants = _hub_step(hub, example_settings, "SendInterrupt")
    assert _assume(record_outcome, step_grants, member_role, source_identity=EXECUTION, tags=tags,
                   principal_org=org, resource_org=org) == {Outcome.NO_RESOURCE_ALLOW}
    # A role of the same name in another account of the organization.
    send_interrupt, _ = _hub_step(hub, example_settings, "SendInterrupt")
    lookalike = Caller(account=MEMBER_ACCOUNT, role_arn=send_interrupt.role_arn.replace(
        example_settings["panic-button:hub-account"], MEMBER_ACCOUNT))
    assert _assume(lookalike, step_grants, member_role, source_identity=EXECUTION, tags=tags,
                   principal_org=org, resource_org=org) == {Outcome.NO_RESOURCE_ALLOW}


def test_the_hub_does_not_assume_a_role_outside_its_organization(hub: dict[str, Any], member_role: Any,
                                                                 example_settings: dict[str, Any],
                                                                 org: str) -> None:
    caller, identity = _hub_step(hub, example_settings, "CheckEligibility")
    assert _assume(caller, identity, member_role, source_identity=EXECUTION,
                   tags={"panic-button:execution": EXECUTION}, principal_org=org,
                   resource_org="o-someoneelse") == {Outcome.NO_IDENTITY_ALLOW}


@pytest.mark.parametrize(("tags", "allowed"), [({"PanicButton": "enabled"}, True), ({}, False),
                                               ({"PanicButton": "disabled"}, False)])
def test_the_member_role_interrupts_only_opted_in_instances(member_role: Any, tags: dict[str, str],
                                                            allowed: bool) -> None:
    arn, _, identity = member_role
    session = Caller(account=MEMBER_ACCOUNT, role_arn=arn,
                     session_arn=f"arn:aws:sts::{MEMBER_ACCOUNT}:assumed-role/{arn.rsplit('/', 1)[1]}/{EXECUTION}")
    instance = f"arn:aws:ec2:us-east-1:{MEMBER_ACCOUNT}:instance/i-0abc1234def567890"
    context = {f"aws:resourcetag/{key.lower()}": [value] for key, value in tags.items()}
    for action in ("ec2:SendDiagnosticInterrupt", "ec2:GetConsoleOutput"):
        assert evaluate(Request(session, action, instance, context), identity, None).allowed is allowed
    ssm_context = {f"ssm:resourcetag/{key.lower()}": [value] for key, value in tags.items()}
    assert evaluate(Request(session, "ssm:SendCommand", instance, ssm_context), identity, None).allowed is allowed
    other_document = f"arn:aws:ssm:us-east-1:{MEMBER_ACCOUNT}:document/AWS-RunShellScript"
    assert not evaluate(Request(session, "ssm:SendCommand", other_document, {}), identity, None).allowed


def test_only_the_organization_puts_events_on_the_hub_bus(hub: dict[str, Any], member: dict[str, Any],
                                                          example_settings: dict[str, Any], org: str) -> None:
    (bus_id,) = of_type(hub, "AWS::Events::EventBus")
    (bus_policy,) = of_type(hub, "AWS::Events::EventBusPolicy").values()
    statement = bus_policy["Properties"]["Statement"]
    assert statement["Resource"] == {"Fn::GetAtt": [bus_id, "Arn"]}  # the policy of the bus itself
    grants = _role_statements(member, _role_id(member, "ForwardToHub"))
    (bus,) = [s["Resource"] for s in grants]  # where the member forwards: the hub bus, by name, in the hub account
    assert bus == (f"arn:aws:events:us-east-1:{example_settings['panic-button:hub-account']}:event-bus/"
                   f"{hub['Resources'][bus_id]['Properties']['Name']}")
    policy = [{**resolve(statement, hub["Resources"]), "Resource": bus}]
    for account, principal_org, allowed in ((MEMBER_ACCOUNT, org, True), (OUTSIDER, None, False),
                                            (OUTSIDER, "o-someoneelse", False)):
        caller = Caller(account=account, role_arn=f"arn:aws:iam::{account}:role/forwarder")
        context = organization_context(principal_org=principal_org, resource_org=org)
        decision = evaluate_cross_account(Request(caller, "events:PutEvents", bus, context), grants, policy)
        assert decision.allowed is allowed, decision.message()


def test_cross_account_needs_both_sides_to_allow() -> None:
    caller = Caller(account=OUTSIDER, role_arn=f"arn:aws:iam::{OUTSIDER}:role/caller")
    target = f"arn:aws:iam::{MEMBER_ACCOUNT}:role/target"
    request = Request(caller, "sts:AssumeRole", target, {})
    allow_identity = [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": target}]
    trust_caller = [{"Effect": "Allow", "Principal": {"AWS": caller.role_arn}, "Action": "sts:AssumeRole"}]
    trust_account = [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OUTSIDER}:root"},
                      "Action": "sts:AssumeRole"}]
    deny = [{"Effect": "Deny", "Principal": "*", "Action": "sts:*"}]
    assert evaluate_cross_account(request, allow_identity, trust_caller).outcome is Outcome.ALLOWED
    # Unlike within one account, the resource policy alone is not enough, and neither is the identity policy.
    assert evaluate_cross_account(request, [], trust_caller).outcome is Outcome.NO_IDENTITY_ALLOW
    assert evaluate_cross_account(request, allow_identity, []).outcome is Outcome.NO_RESOURCE_ALLOW
    # A policy naming the caller's account hands the decision to that account's IAM.
    assert evaluate_cross_account(request, allow_identity, trust_account).outcome is Outcome.ALLOWED
    assert evaluate_cross_account(request, allow_identity, trust_caller + deny).outcome is (
        Outcome.EXPLICIT_RESOURCE_DENY)
