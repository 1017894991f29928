"""parliament on every IAM policy of the template: each finding is fixed in infra/ or accepted next to
its grant (infra.suppressions.accept_parliament_finding) for a specific reason."""

from __future__ import annotations

from typing import Any

import pytest
from parliament_findings import Finding, analyze
from plausible_arns import Resources
from policy_documents import Acceptance, PolicyDocument, policy_documents
from suppression_reasons import is_vague

# Where a template keeps IAM policies that are not trust policies (see policy_documents for what is read).
_POLICY_PROPERTIES = ("PolicyDocument", "KeyPolicy", "Policies")


@pytest.fixture(scope="module")
def documents(resources: Resources) -> list[PolicyDocument]:
    return policy_documents(resources)


@pytest.fixture(scope="module")
def findings(documents: list[PolicyDocument]) -> dict[str, list[Finding]]:
    return {document.owner: analyze(document) for document in documents}


def test_every_policy_of_the_template_is_analyzed(resources: Resources, documents: list[PolicyDocument]) -> None:
    holders = {logical_id for logical_id, resource in resources.items()
               if any(key in resource.get("Properties", {}) for key in _POLICY_PROPERTIES)
               or resource["Type"] == "AWS::Lambda::Permission"}
    assert holders - {document.owner for document in documents} == set()
    analyzed_types = {document.owner_type for document in documents}
    assert {"AWS::IAM::Policy", "AWS::KMS::Key", "AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy",
            "AWS::SQS::QueuePolicy", "AWS::Lambda::Permission"} <= analyzed_types


def test_parliament_reports_no_unaccepted_finding(documents: list[PolicyDocument],
                                                  findings: dict[str, list[Finding]]) -> None:
    unaccepted = [(f.owner, f.issue, sorted(f.actions), f.detail) for document in documents
                  for f in findings[document.owner]
                  if not any(f.accepted_by(acceptance) for acceptance in document.acceptances)]
    assert unaccepted == []


def test_every_acceptance_still_matches_a_finding(documents: list[PolicyDocument],
                                                   findings: dict[str, list[Finding]]) -> None:
    stale = [(document.owner, acceptance.finding, acceptance.actions) for document in documents
             for acceptance in document.acceptances
             if not any(f.accepted_by(acceptance) for f in findings[document.owner])]
    assert stale == []


def test_every_acceptance_gives_a_specific_reason(documents: list[PolicyDocument]) -> None:
    acceptances = [(document.owner, acceptance) for document in documents for acceptance in document.acceptances]
    assert acceptances, "no parliament acceptances found: has infra.suppressions changed its metadata?"
    assert [(owner, a.finding) for owner, a in acceptances if is_vague(a.reason) or not a.actions] == []


def _bad_template() -> Resources:
    """An object grant on a bucket ARN, a wildcard iam:PassRole and a wide-open key policy."""
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::GetAtt": ["Bucket", "Arn"]}},
        {"Effect": "Allow", "Action": ["iam:PassRole", "iam:CreateAccessKey"], "Resource": "*"},
    ]
    return {
        "Bucket": {"Type": "AWS::S3::Bucket"},
        "Policy": {"Type": "AWS::IAM::Policy",
                   "Properties": {"PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}]}}},
    }


def test_the_check_is_live_on_a_bad_template() -> None:
    reported = {(f.owner, f.issue) for document in policy_documents(_bad_template()) for f in analyze(document)}
    # RESOURCE_MISMATCH needs the resolved ARN: s3:GetObject acts on objects, not on the bucket.
    assert {("Policy", "RESOURCE_MISMATCH"), ("Policy", "RESOURCE_STAR"), ("Policy", "PRIVILEGE_ESCALATION"),
            ("Policy", "CREDENTIALS_EXPOSURE"), ("Key", "PERMISSIONS_MANAGEMENT_ACTIONS")} <= reported


def test_an_acceptance_names_its_statement() -> None:
    bad = _bad_template()
    findings = analyze(next(d for d in policy_documents(bad) if d.owner == "Policy"))
    mismatch = next(f for f in findings if f.issue == "RESOURCE_MISMATCH")
    assert mismatch.actions == {"s3:getobject"}
    assert mismatch.accepted_by(Acceptance("RESOURCE_MISMATCH", ("s3:GetObject",), "x"))
    assert not mismatch.accepted_by(Acceptance("RESOURCE_MISMATCH", ("iam:PassRole",), "x"))
    assert not mismatch.accepted_by(Acceptance("RESOURCE_STAR", ("s3:GetObject",), "x"))
