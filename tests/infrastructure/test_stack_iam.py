"""Least privilege as deployed: who may interrupt, who may run commands, where objects may be written,
and no wildcard actions anywhere. Statements are matched as IAM evaluates them (action patterns included)."""

from __future__ import annotations

from typing import Any

import pytest
from stack_template import (
    Resources,
    Statement,
    as_list,
    function_by_handler,
    output_ref,
    policy_statements,
    render,
    role_of,
    roles_granted,
)

# cdk.json's opt-in tag; the configuration variant checks that another tag flows through.
OPT_IN_KEY, OPT_IN_VALUE = "PanicButton", ["enabled", "approval"]  # approval: a person decides first
INSTANCES = "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*"
ACCOUNT_ROOT = "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
# Condition keys that tie a service principal's use of the key to this account's own resources.
CONFUSED_DEPUTY_GUARDS = ("aws:SourceAccount", "aws:SourceArn", "kms:EncryptionContext:", "kms:ViaService")


@pytest.fixture(scope="module")
def granted(resources: Resources) -> dict[str, list[Statement]]:
    return roles_granted(resources)


def _roles_allowed(granted: dict[str, list[Statement]], action: str) -> dict[str, list[Statement]]:
    allowed = {role: [s for s in statements if s.covers(action)] for role, statements in granted.items()}
    return {role: statements for role, statements in allowed.items() if statements}


def _is_key_administration_by_the_account(statement: Statement) -> bool:
    """The AWS default key policy statement: it hands key access to IAM, where our roles get only kms data
    actions on this key. Without it the key could not be administered at all."""
    principal = statement.body.get("Principal", {})
    return (statement.owner_type == "AWS::KMS::Key" and statement.actions == ["kms:*"]
            and isinstance(principal, dict) and set(principal) == {"AWS"} and render(principal["AWS"]) == ACCOUNT_ROOT)


def test_only_the_send_interrupt_step_may_interrupt_and_only_opted_in_instances(
        resources: Resources, granted: dict[str, list[Statement]]) -> None:
    interrupter = role_of(resources, function_by_handler(resources, "handle_send_interrupt"))
    allowed = _roles_allowed(granted, "ec2:SendDiagnosticInterrupt")
    assert list(allowed) == [interrupter]
    for statement in allowed[interrupter]:
        assert statement.resources == [INSTANCES]
        assert statement.conditions == {"StringEquals": {f"aws:ResourceTag/{OPT_IN_KEY}": OPT_IN_VALUE}}


def test_no_instance_reboot_without_the_reboot_fallback(granted: dict[str, list[Statement]]) -> None:
    assert _roles_allowed(granted, "ec2:RebootInstances") == {}


def test_send_command_only_with_this_stacks_documents_on_opted_in_instances(
        resources: Resources, granted: dict[str, list[Statement]], template_json: dict[str, Any]) -> None:
    # Only the collectors: no Lambda role may run the readiness document (operators run it themselves).
    collectors = [output_ref(template_json, name) for name in ("LinuxCollectorDocument", "WindowsCollectorDocument")]
    documents = {f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:document/${{{logical_id}}}"
                 for logical_id in collectors}
    assert len(documents) == 2
    allowed = _roles_allowed(granted, "ssm:SendCommand")
    collectors = {role_of(resources, function_by_handler(resources, handler))
                  for handler in ("handle_start_locate", "handle_start_upload")}
    assert set(allowed) == collectors
    for role, statements in allowed.items():
        used_documents = {r for s in statements for r in s.resources if r in documents}
        assert used_documents == documents, role
        for statement in statements:
            assert set(statement.resources) <= documents | {INSTANCES}, statement.body
            if INSTANCES in statement.resources:
                assert statement.conditions == {"StringEquals": {f"ssm:resourceTag/{OPT_IN_KEY}": OPT_IN_VALUE}}


def test_every_s3_grant_is_limited_to_the_evidence_prefix(
        template_json: dict[str, Any], granted: dict[str, list[Statement]]) -> None:
    bucket = f"${{{output_ref(template_json, 'EvidenceBucketName')}.Arn}}"
    evidence_objects = f"{bucket}/remediations/*"
    # Plus the kernel debug symbols, read-only, by build ID (test below): they outlive any one remediation.
    symbols = f"{bucket}/symbols/*"
    s3_grants = [s for statements in granted.values() for s in statements
                 if any(action.lower().startswith("s3:") for action in s.actions)]
    assert s3_grants, "no role can write evidence"
    # Two bucket actions: listing versions (to delete every version of a manifest), only under the prefix,
    # and s3:ListBucket, only so that S3 tells a missing key (404) from a denied one (403).
    versions = [s for s in s3_grants if s.resources == [bucket] and s.actions == ["s3:ListBucketVersions"]]
    assert versions and all(s.conditions == {"StringLike": {"s3:prefix": "remediations/*"}} for s in versions)
    listing = [s for s in s3_grants if s.resources == [bucket] and s.actions == ["s3:ListBucket"]]
    # Narrower object grants stay under the prefix too (StartLocate and StartUpload read only collector/).
    collector_objects = f"{evidence_objects}/collector/*"
    # The notes that use up the write-once URLs: creates only, at those keys only.
    write_once = [f"{evidence_objects}/collector/*.log", f"{evidence_objects}/collector/*.result",
                  f"{evidence_objects}/dump/vmcore-dmesg.txt"]
    spends = [s for s in s3_grants if sorted(s.resources) == write_once]
    assert spends and all(s.actions == ["s3:PutObject"] and s.conditions == {"Null": {"s3:if-none-match": "false"}}
                          for s in spends)
    assert [s.body for s in s3_grants if s.resources not in ([evidence_objects], [collector_objects], [symbols])
            and s not in versions + listing + spends] == []


def test_only_the_triage_step_reads_symbols_and_it_cannot_write_them(
        template_json: dict[str, Any], resources: Resources, granted: dict[str, list[Statement]]) -> None:
    symbols = f"${{{output_ref(template_json, 'EvidenceBucketName')}.Arn}}/symbols/*"
    readers = {role: [s for s in statements if symbols in s.resources] for role, statements in granted.items()}
    readers = {role: statements for role, statements in readers.items() if statements}
    assert list(readers) == [role_of(resources, function_by_handler(resources, "handle_triage_dump"))]
    assert [s.actions for statements in readers.values() for s in statements] == [["s3:GetObject"]]


def test_no_statement_allows_every_action_of_a_service(resources: Resources) -> None:
    wildcards = [f"{s.owner}: {s.actions}" for s in policy_statements(resources)
                 if s.allows and not _is_key_administration_by_the_account(s)
                 and any(action == "*" or action.endswith(":*") for action in s.actions)]
    assert wildcards == []


def test_no_statement_allows_by_exclusion(resources: Resources) -> None:
    # Allow + NotAction/NotResource grants everything not listed, including what AWS adds tomorrow.
    assert [s.owner for s in policy_statements(resources)
            if s.allows and ("NotAction" in s.body or "NotResource" in s.body)] == []


def test_resource_policies_allow_no_anonymous_principal(resources: Resources) -> None:
    anonymous = [s.owner for s in policy_statements(resources)
                 if s.allows and s.body.get("Principal") in ("*", {"AWS": "*"})]
    assert anonymous == []


def test_every_publisher_to_the_encrypted_topic_can_use_its_key(
        template_json: dict[str, Any], resources: Resources, granted: dict[str, list[Statement]]) -> None:
    topic = output_ref(template_json, "TopicArn")
    key_arn = f"${{{resources[topic]['Properties']['KmsMasterKeyId']['Fn::GetAtt'][0]}.Arn}}"
    publishers = {role for role, statements in _roles_allowed(granted, "sns:Publish").items()
                  if any(f"${{{topic}}}" in s.resources for s in statements)}
    assert publishers
    without_key = sorted(role for role in publishers if not all(
        any(s.covers(action) and key_arn in s.resources for s in granted[role])
        for action in ("kms:GenerateDataKey", "kms:Decrypt")))
    assert without_key == [], f"publishers that cannot encrypt for the topic: {without_key}"


def test_service_principals_use_the_key_only_for_this_stacks_resources(resources: Resources) -> None:
    unguarded = [f"{s.owner}: {[render(service) for service in as_list(s.body['Principal']['Service'])]}"
                 for s in policy_statements(resources)
                 if s.owner_type == "AWS::KMS::Key" and s.allows and "Service" in s.body.get("Principal", {})
                 and not any(key.startswith(CONFUSED_DEPUTY_GUARDS)
                             for operator in s.conditions.values() for key in operator)]
    assert unguarded == []
