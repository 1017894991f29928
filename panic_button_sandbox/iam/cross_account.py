"""Cross-account evaluation, as the IAM User Guide's "Cross-account policy evaluation logic" describes it: a
request into another account is allowed only when the caller's identity policies allow it AND the resource's
policy there (a role's trust policy, an event bus policy) allows it, and no explicit Deny in either applies.

The organization keys come from the accounts' organization (`aws:PrincipalOrgID` of the caller,
`aws:ResourceOrgID` of the resource); `sts:SourceIdentity` and the session tags come from the AssumeRole
request, which names them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from panic_button_sandbox.iam.conditions import RequestContext
from panic_button_sandbox.iam.policies import (
    Decision,
    Outcome,
    Request,
    Statement,
    first_deny,
    identity_allows,
    resource_allows,
)


def evaluate_cross_account(request: Request, identity: Sequence[Statement],
                           resource_policy: Sequence[Statement]) -> Decision:
    """The caller's account is not the resource's: both sides must allow (a resource policy naming the caller's
    account counts: that account's IAM then decides, through `identity`)."""
    for statements, resource_side, outcome in ((identity, False, Outcome.EXPLICIT_IDENTITY_DENY),
                                               (resource_policy, True, Outcome.EXPLICIT_RESOURCE_DENY)):
        sid = first_deny(statements, request, resource_policy=resource_side)
        if sid is not None:
            return Decision(request, outcome, sid)
    if not identity_allows(identity, request):
        return Decision(request, Outcome.NO_IDENTITY_ALLOW)
    if not resource_allows(resource_policy, request, via_account=True):
        return Decision(request, Outcome.NO_RESOURCE_ALLOW)
    return Decision(request, Outcome.ALLOWED)


def organization_context(*, principal_org: str | None, resource_org: str | None) -> dict[str, list[str]]:
    """aws:PrincipalOrgID / aws:ResourceOrgID: absent for an account outside any organization."""
    return {**({"aws:principalorgid": [principal_org]} if principal_org else {}),
            **({"aws:resourceorgid": [resource_org]} if resource_org else {})}


def assume_role_context(*, source_identity: str | None, tags: Mapping[str, str],
                        principal_org: str | None, resource_org: str | None) -> RequestContext:
    """What an sts:AssumeRole request puts in the context of the trust and identity policies."""
    context: dict[str, list[str]] = organization_context(principal_org=principal_org, resource_org=resource_org)
    if source_identity is not None:
        context["sts:sourceidentity"] = [source_identity]
    if tags:
        context["aws:tagkeys"] = list(tags)
    context.update({f"aws:requesttag/{key.lower()}": [value] for key, value in tags.items()})
    return context
