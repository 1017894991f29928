"""IAM policy evaluation for one account, after the documented logic
(docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):

1. an explicit Deny in any applicable policy (identity or resource) denies;
2. within one account, an Allow in the identity policies or a resource policy that names the principal
   allows (a resource policy naming only the account delegates to IAM and allows nothing by itself);
3. otherwise the request is implicitly denied.
KMS keys differ: the key policy must allow, either the principal itself or the account, and only in the
second case do the identity policies then decide (no key-policy delegation, no IAM access).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from panic_button_sandbox.iam.conditions import RequestContext, arn_matches, condition_block_holds, glob_matches

Statement = Mapping[str, Any]


@dataclass(frozen=True)
class Caller:
    """Who makes the request: a role session (a Lambda's) or an AWS service principal."""

    account: str
    role_arn: str = ""  # arn:aws:iam::ACCOUNT:role/NAME
    session_arn: str = ""  # arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION
    service: str = ""  # e.g. events.amazonaws.com

    @property
    def display_arn(self) -> str:
        return self.session_arn or self.role_arn or self.service


@dataclass(frozen=True)
class Request:
    """One authorization question: may `caller` do `action` on `resource` in `context`?"""

    caller: Caller
    action: str
    resource: str
    context: RequestContext = field(default_factory=dict)


class Outcome(Enum):
    ALLOWED = "allowed"
    EXPLICIT_IDENTITY_DENY = "with an explicit deny in an identity-based policy"
    EXPLICIT_RESOURCE_DENY = "with an explicit deny in a resource-based policy"
    NO_IDENTITY_ALLOW = "because no identity-based policy allows the {action} action"
    NO_RESOURCE_ALLOW = "because no resource-based policy allows the {action} action"


@dataclass(frozen=True)
class Decision:
    request: Request
    outcome: Outcome
    deciding_sid: str = ""  # the Sid (or index) of the explicit Deny, when one decided

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOWED

    @property
    def reason(self) -> str:
        return self.outcome.value.format(action=self.request.action)

    def message(self) -> str:
        """The sentence AWS writes into AccessDenied errors."""
        return (f"User: {self.request.caller.display_arn} is not authorized to perform: {self.request.action} "
                f"on resource: {self.request.resource} {self.reason}")


def statements(document: Mapping[str, Any] | str) -> list[Statement]:
    parsed = json.loads(document) if isinstance(document, str) else document
    found = parsed.get("Statement", [])
    return list(found) if isinstance(found, list) else [found]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _action_matches(statement: Statement, action: str) -> bool:
    if "NotAction" in statement:
        return not any(glob_matches(p, action, ignore_case=True) for p in _as_list(statement["NotAction"]))
    return any(glob_matches(p, action, ignore_case=True) for p in _as_list(statement.get("Action", [])))


def _resource_matches(statement: Statement, resource: str) -> bool:
    if "NotResource" in statement:
        return not any(arn_matches(p, resource) for p in _as_list(statement["NotResource"]))
    if "Resource" not in statement:  # resource policies may leave it out: the resource is the policy's own
        return True
    return any(arn_matches(p, resource) for p in _as_list(statement["Resource"]))


def _root(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


def names_caller(principal: Any, caller: Caller) -> bool:
    """Does a resource policy's Principal name this caller itself (not merely its account)?"""
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    if caller.service:
        return caller.service in _as_list(principal.get("Service", []))
    named = _as_list(principal.get("AWS", []))
    return "*" in named or caller.role_arn in named or caller.session_arn in named


def names_account(principal: Any, caller: Caller) -> bool:
    if not isinstance(principal, Mapping) or caller.service:
        return False
    named = _as_list(principal.get("AWS", []))
    return _root(caller.account) in named or caller.account in named


def _principal_covers(statement: Statement, caller: Caller) -> bool:
    """For a Deny: a Principal naming the account covers every principal in it."""
    if "NotPrincipal" in statement:
        excluded = statement["NotPrincipal"]
        return not (names_caller(excluded, caller) or names_account(excluded, caller))
    principal = statement.get("Principal")
    return names_caller(principal, caller) or names_account(principal, caller)


def applies(statement: Statement, request: Request) -> bool:
    """Action, Resource and Condition of one statement (Principal is the caller's business)."""
    return (
        _action_matches(statement, request.action)
        and _resource_matches(statement, request.resource)
        and condition_block_holds(statement.get("Condition", {}), request.context)
    )


def _sid(statement: Statement, index: int) -> str:
    return str(statement.get("Sid") or f"statement {index}")


def first_deny(policy_statements: Sequence[Statement], request: Request, *, resource_policy: bool) -> str | None:
    for index, statement in enumerate(policy_statements):
        if statement.get("Effect") != "Deny" or not applies(statement, request):
            continue
        if not resource_policy or _principal_covers(statement, request.caller):
            return _sid(statement, index)
    return None


def identity_allows(policy_statements: Sequence[Statement], request: Request) -> bool:
    return any(s.get("Effect") == "Allow" and applies(s, request) for s in policy_statements)


def resource_allows(policy_statements: Sequence[Statement], request: Request, *, via_account: bool) -> bool:
    """An Allow naming the caller itself or, with `via_account`, one naming only its account."""
    for statement in policy_statements:
        if statement.get("Effect") != "Allow" or not applies(statement, request):
            continue
        principal = statement.get("Principal")
        if names_caller(principal, request.caller) or (via_account and names_account(principal, request.caller)):
            return True
    return False


def _explicit_deny(request: Request, identity: Sequence[Statement], resource: Sequence[Statement]) -> Decision | None:
    """Explicit deny comes first, in the identity policies, then in the resource's (or key's) policy."""
    sid = first_deny(identity, request, resource_policy=False)
    if sid is not None:
        return Decision(request, Outcome.EXPLICIT_IDENTITY_DENY, sid)
    sid = first_deny(resource, request, resource_policy=True)
    if sid is not None:
        return Decision(request, Outcome.EXPLICIT_RESOURCE_DENY, sid)
    return None


def with_principal_keys(request: Request) -> Request:
    """The global condition keys AWS sets from the caller itself: a role session's aws:PrincipalArn is its
    role's ARN (a bucket policy's `ArnNotEquals aws:PrincipalArn` exempts roles by it); a service has none."""
    if not request.caller.role_arn or "aws:principalarn" in request.context:
        return request
    return replace(request, context={**request.context, "aws:principalarn": [request.caller.role_arn]})


def evaluate(request: Request, identity: Sequence[Statement], resource: Sequence[Statement] | None) -> Decision:
    """Same-account evaluation of the identity policies and the resource's policy (None if it has none)."""
    request = with_principal_keys(request)
    resource = resource or []
    denied = _explicit_deny(request, identity, resource)
    if denied is not None:
        return denied
    if identity_allows(identity, request) or resource_allows(resource, request, via_account=False):
        return Decision(request, Outcome.ALLOWED)
    return Decision(request, Outcome.NO_IDENTITY_ALLOW if not request.caller.service else Outcome.NO_RESOURCE_ALLOW)


def evaluate_kms(request: Request, identity: Sequence[Statement], key_policy: Sequence[Statement]) -> Decision:
    """A KMS key: the key policy allows the caller, or delegates to the account and IAM allows."""
    request = with_principal_keys(request)
    denied = _explicit_deny(request, identity, key_policy)
    if denied is not None:
        return denied
    if resource_allows(key_policy, request, via_account=False):
        return Decision(request, Outcome.ALLOWED)
    if not resource_allows(key_policy, request, via_account=True):
        return Decision(request, Outcome.NO_RESOURCE_ALLOW)
    if identity_allows(identity, request):
        return Decision(request, Outcome.ALLOWED)
    return Decision(request, Outcome.NO_IDENTITY_ALLOW)
