"""The sandbox's IAM evaluator against the documented evaluation logic and condition operators
(IAM User Guide: "Policy evaluation logic", "IAM JSON policy elements: Condition operators",
KMS Developer Guide: "Key policies")."""

from __future__ import annotations

from typing import Any

import pytest

from panic_button_sandbox.iam.conditions import UnsupportedCondition, arn_matches, condition_block_holds
from panic_button_sandbox.iam.policies import Caller, Outcome, Request, evaluate, evaluate_kms

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Step"
CALLER = Caller(account=ACCOUNT, role_arn=ROLE, session_arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/Step/fn")
BUCKET_OBJECT = "arn:aws:s3:::evidence/remediations/i-1/dump.vmcore"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _request(action: str, resource: str, **context: list[str]) -> Request:
    return Request(CALLER, action, resource, {k.lower(): v for k, v in context.items()})


def _allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_an_explicit_identity_deny_beats_an_allow() -> None:
    identity = [_allow("s3:*", "*"), {"Effect": "Deny", "Sid": "NoDelete", "Action": "s3:DeleteObject",
                                      "Resource": "*"}]
    decision = evaluate(_request("s3:DeleteObject", BUCKET_OBJECT), identity, None)
    assert decision.outcome is Outcome.EXPLICIT_IDENTITY_DENY
    assert decision.deciding_sid == "NoDelete"
    assert evaluate(_request("s3:GetObject", BUCKET_OBJECT), identity, None).allowed


def test_nothing_allowed_is_an_implicit_deny_with_aws_message() -> None:
    decision = evaluate(_request("dynamodb:Query", "arn:aws:dynamodb:us-east-1:1:table/T"),
                        [_allow("dynamodb:GetItem", "*")], None)
    assert decision.outcome is Outcome.NO_IDENTITY_ALLOW
    assert decision.message() == (
        f"User: {CALLER.session_arn} is not authorized to perform: dynamodb:Query on resource: "
        "arn:aws:dynamodb:us-east-1:1:table/T because no identity-based policy allows the dynamodb:Query action")


def test_not_action_and_not_resource_match_everything_else() -> None:
    identity = [{"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::secret/*"}]
    assert evaluate(_request("s3:GetObject", BUCKET_OBJECT), identity, None).allowed
    assert not evaluate(_request("iam:PassRole", "*"), identity, None).allowed
    assert not evaluate(_request("s3:GetObject", "arn:aws:s3:::secret/x"), identity, None).allowed


def test_actions_match_case_insensitively_resources_case_sensitively() -> None:
    identity = [_allow("S3:getobject", "arn:aws:s3:::evidence/remediations/*")]
    assert evaluate(_request("s3:GetObject", BUCKET_OBJECT), identity, None).allowed
    assert not evaluate(_request("s3:GetObject", "arn:aws:s3:::Evidence/remediations/x"), identity, None).allowed


@pytest.mark.parametrize(("pattern", "arn", "matches"), [
    ("arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:us-east-1:1:instance/i-1", True),
    ("arn:aws:s3:::evidence/*", "arn:aws:s3:::evidence/a/b/c", True),
    ("arn:aws:ec2:*:instance/*", "arn:aws:ec2:us-east-1:1:instance/i-1", False),  # five parts: no ARN
    ("arn:aws:events:us-east-1:1:rule/*", "arn:aws:events:us-east-1:2:rule/r", False),
    ("arn:aws:logs:*:1:log-group:/aws/x:*", "arn:aws:logs:eu-west-1:1:log-group:/aws/x:log-stream:s", True),
    ("arn:aws:sns:us-east-1:1:t?pic", "arn:aws:sns:us-east-1:1:topic", True),
    ("arn:aws:*:us-east-1:1:x", "arn:aws:sns:us-east-1:1:x:y", False),
])
def test_arn_wildcards_match_within_their_part(pattern: str, arn: str, matches: bool) -> None:
    assert arn_matches(pattern, arn) is matches


@pytest.mark.parametrize(("block", "context", "holds"), [
    ({"StringEquals": {"aws:ResourceTag/PanicButton": "enabled"}}, {"aws:resourcetag/panicbutton": ["enabled"]}, True),
    ({"StringEquals": {"aws:ResourceTag/PanicButton": "enabled"}}, {"aws:resourcetag/panicbutton": ["Enabled"]}, False),
    ({"StringEquals": {"aws:ResourceTag/PanicButton": "enabled"}}, {}, False),  # a missing key never equals
    ({"StringNotEquals": {"aws:ResourceTag/Env": "prod"}}, {}, True),  # ...and never "equals" for a negation
    ({"StringNotEquals": {"aws:ResourceTag/Env": "prod"}}, {"aws:resourcetag/env": ["prod"]}, False),
    ({"StringEqualsIgnoreCase": {"k": "ABC"}}, {"k": ["abc"]}, True),
    ({"StringLike": {"s3:prefix": ["remediations/*", "home/"]}}, {"s3:prefix": ["remediations/i-1/"]}, True),
    ({"StringLike": {"s3:prefix": "remediations/*"}}, {"s3:prefix": ["other/"]}, False),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:events:us-east-1:1:rule/*"}},
     {"aws:sourcearn": ["arn:aws:events:us-east-1:1:rule/r"]}, True),
    ({"ArnEquals": {"aws:SourceArn": "arn:aws:events:us-east-1:1:rule/r"}},
     {"aws:sourcearn": ["arn:aws:events:us-east-1:1:rule/other"]}, False),
    ({"ArnNotLike": {"aws:SourceArn": "arn:aws:events:*:1:rule/*"}}, {}, True),
    ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:securetransport": ["true"]}, False),
    ({"Bool": {"aws:SecureTransport": False}}, {"aws:securetransport": ["false"]}, True),
    ({"Bool": {"aws:SecureTransport": "false"}}, {}, False),
    ({"BoolIfExists": {"aws:SecureTransport": "true"}}, {}, True),
    ({"StringEqualsIfExists": {"k": "v"}}, {"k": ["w"]}, False),
    ({"Null": {"aws:ResourceTag/Owner": "true"}}, {}, True),
    ({"Null": {"aws:ResourceTag/Owner": "false"}}, {}, False),
    ({"Null": {"aws:ResourceTag/Owner": "false"}}, {"aws:resourcetag/owner": ["me"]}, True),
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:tagkeys": ["c", "b"]}, True),
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}, {}, False),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:tagkeys": ["a", "c"]}, False),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {}, True),  # vacuously true
    ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": ["5"]}, True),
    # Keys and operators of a block are AND-ed, the values of one key OR-ed.
    ({"StringEquals": {"a": "1", "b": "2"}}, {"a": ["1"], "b": ["3"]}, False),
    ({"StringEquals": {"a": ["1", "2"]}, "Bool": {"c": "true"}}, {"a": ["2"], "c": ["true"]}, True),
])
def test_condition_operators(block: dict[str, Any], context: dict[str, list[str]], holds: bool) -> None:
    assert condition_block_holds(block, context) is holds


def test_an_unknown_operator_is_an_error_not_a_guess() -> None:
    with pytest.raises(UnsupportedCondition):
        condition_block_holds({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, {})


def test_a_condition_failing_leaves_an_allow_out() -> None:
    identity = [_allow("ec2:SendDiagnosticInterrupt", "arn:aws:ec2:*:*:instance/*",
                       Condition={"StringEquals": {"aws:ResourceTag/PanicButton": "enabled"}})]
    instance = "arn:aws:ec2:us-east-1:1:instance/i-1"
    assert evaluate(_request("ec2:SendDiagnosticInterrupt", instance, **{"aws:ResourceTag/PanicButton": ["enabled"]}),
                    identity, None).allowed
    assert not evaluate(_request("ec2:SendDiagnosticInterrupt", instance), identity, None).allowed


def test_tls_only_bucket_policy_denies_plain_http_whatever_iam_allows() -> None:
    tls_only = [{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "arn:aws:s3:::evidence/*",
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]
    identity = [_allow("s3:GetObject", "*")]
    over_http = evaluate(_request("s3:GetObject", BUCKET_OBJECT, **{"aws:SecureTransport": ["false"]}), identity,
                         tls_only)
    assert over_http.outcome is Outcome.EXPLICIT_RESOURCE_DENY
    assert evaluate(_request("s3:GetObject", BUCKET_OBJECT, **{"aws:SecureTransport": ["true"]}), identity,
                    tls_only).allowed


def test_a_principal_arn_exemption_in_a_bucket_deny_spares_only_the_named_role() -> None:
    # AWS sets aws:PrincipalArn from the caller (a role session: its role's ARN), not from the request.
    dumps_only_for = [{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
                       "Resource": "arn:aws:s3:::evidence/*",
                       "Condition": {"ArnNotEquals": {"aws:PrincipalArn": ROLE}}}]
    identity = [_allow("s3:*", "*")]
    assert evaluate(_request("s3:GetObject", BUCKET_OBJECT), identity, dumps_only_for).allowed
    admin = Caller(account=ACCOUNT, role_arn=f"arn:aws:iam::{ACCOUNT}:role/Admin",
                   session_arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/someone")
    denied = evaluate(Request(admin, "s3:GetObject", BUCKET_OBJECT), identity, dumps_only_for)
    assert denied.outcome is Outcome.EXPLICIT_RESOURCE_DENY


def test_same_account_resource_policy_naming_the_role_allows_without_identity_policy() -> None:
    policy = [{"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "sns:Publish", "Resource": "*"}]
    assert evaluate(_request("sns:Publish", "arn:aws:sns:us-east-1:1:t"), [], policy).allowed


def test_resource_policy_naming_only_the_account_delegates_to_iam() -> None:
    policy = [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sns:Publish",
               "Resource": "*"}]
    assert not evaluate(_request("sns:Publish", "arn:aws:sns:us-east-1:1:t"), [], policy).allowed
    assert evaluate(_request("sns:Publish", "arn:aws:sns:us-east-1:1:t"), [_allow("sns:Publish", "*")], policy).allowed


def test_a_service_principal_needs_the_resource_policy() -> None:
    events = Caller(account=ACCOUNT, service="events.amazonaws.com")
    policy = [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
               "Resource": "*", "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:events:us-east-1:1:rule/r"}}}]
    queue = "arn:aws:sqs:us-east-1:1:dlq"
    allowed = Request(events, "sqs:SendMessage", queue, {"aws:sourcearn": ["arn:aws:events:us-east-1:1:rule/r"]})
    other_rule = Request(events, "sqs:SendMessage", queue, {"aws:sourcearn": ["arn:aws:events:us-east-1:1:rule/x"]})
    assert evaluate(allowed, [], policy).allowed
    assert evaluate(other_rule, [], policy).outcome is Outcome.NO_RESOURCE_ALLOW


DELEGATES_TO_IAM = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*",
                    "Resource": "*"}


def test_kms_key_policy_without_iam_delegation_denies_despite_identity_allow() -> None:
    only_admin = [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/Admin"}, "Action": "kms:*",
                   "Resource": "*"}]
    decision = evaluate_kms(_request("kms:Decrypt", KEY), [_allow("kms:Decrypt", KEY)], only_admin)
    assert decision.outcome is Outcome.NO_RESOURCE_ALLOW
    assert decision.message().endswith("because no resource-based policy allows the kms:Decrypt action")


def test_kms_delegation_then_needs_the_identity_policy() -> None:
    assert evaluate_kms(_request("kms:Decrypt", KEY), [_allow("kms:Decrypt", KEY)], [DELEGATES_TO_IAM]).allowed
    assert evaluate_kms(_request("kms:Decrypt", KEY), [_allow("kms:Encrypt", KEY)], [DELEGATES_TO_IAM]).outcome \
        is Outcome.NO_IDENTITY_ALLOW


def test_kms_key_policy_naming_the_role_allows_on_its_own() -> None:
    direct = [{"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": ["kms:Decrypt"], "Resource": "*"}]
    assert evaluate_kms(_request("kms:Decrypt", KEY), [], direct).allowed


def test_kms_encryption_context_condition_in_the_key_policy() -> None:
    scoped = [{"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:Decrypt", "Resource": "*",
               "Condition": {"StringEquals": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::evidence"}}}]
    right = _request("kms:Decrypt", KEY, **{"kms:EncryptionContext:aws:s3:arn": ["arn:aws:s3:::evidence"]})
    wrong = _request("kms:Decrypt", KEY, **{"kms:EncryptionContext:aws:s3:arn": ["arn:aws:s3:::other"]})
    assert evaluate_kms(right, [], scoped).allowed
    assert not evaluate_kms(wrong, [], scoped).allowed


def test_kms_explicit_deny_in_the_key_policy_beats_delegation() -> None:
    deny = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}
    decision = evaluate_kms(_request("kms:Decrypt", KEY), [_allow("kms:*", "*")], [DELEGATES_TO_IAM, deny])
    assert decision.outcome is Outcome.EXPLICIT_RESOURCE_DENY
