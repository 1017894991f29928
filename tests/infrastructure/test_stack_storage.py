"""Where evidence and records live: the evidence bucket (crash dumps hold memory contents, secrets included),
its access-log bucket, the records table and the outcome topic."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from stack_template import Resources, of_type, output_ref, policy_statements, ref_id

ALL_PUBLIC_ACCESS_BLOCKED = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


@pytest.fixture(scope="module")
def rotating_keys(resources: Resources) -> set[str]:
    """Customer-managed KMS keys with automatic rotation on."""
    return {logical_id for logical_id, key in of_type(resources, "AWS::KMS::Key").items()
            if key["Properties"].get("EnableKeyRotation") is True}


@pytest.fixture(scope="module")
def evidence_bucket(template_json: dict[str, Any], resources: Resources) -> dict[str, Any]:
    return resources[output_ref(template_json, "EvidenceBucketName")]


@pytest.fixture(scope="module")
def access_log_bucket_id(evidence_bucket: dict[str, Any]) -> str:
    return ref_id(evidence_bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"])


def _denies_plain_http(resources: Resources, bucket_id: str) -> bool:
    """A bucket policy of this bucket denies every S3 action on the bucket and its objects without TLS."""
    policies = [logical_id for logical_id, policy in of_type(resources, "AWS::S3::BucketPolicy").items()
                if ref_id(policy["Properties"]["Bucket"]) == bucket_id]
    wanted = {f"${{{bucket_id}.Arn}}", f"${{{bucket_id}.Arn}}/*"}
    return any(
        statement.body.get("Effect") == "Deny"
        and statement.actions == ["s3:*"]
        and statement.conditions == {"Bool": {"aws:SecureTransport": "false"}}
        and wanted <= set(statement.resources)
        for statement in policy_statements(resources) if statement.owner in policies
    )


def test_evidence_bucket_is_encrypted_with_a_rotating_customer_managed_key_and_bucket_key(
        evidence_bucket: dict[str, Any], rotating_keys: set[str]) -> None:
    (rule,) = evidence_bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert ref_id(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]) in rotating_keys
    assert rule["BucketKeyEnabled"] is True


def test_evidence_bucket_blocks_public_access_and_plain_http(
        evidence_bucket: dict[str, Any], resources: Resources, template_json: dict[str, Any]) -> None:
    assert evidence_bucket["Properties"]["PublicAccessBlockConfiguration"] == ALL_PUBLIC_ACCESS_BLOCKED
    assert _denies_plain_http(resources, output_ref(template_json, "EvidenceBucketName"))


def test_evidence_bucket_is_versioned_logged_and_retained(
        evidence_bucket: dict[str, Any], access_log_bucket_id: str, resources: Resources) -> None:
    properties = evidence_bucket["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert resources[access_log_bucket_id]["Type"] == "AWS::S3::Bucket"
    assert properties["LoggingConfiguration"]["LogFilePrefix"]
    assert evidence_bucket["DeletionPolicy"] == "Retain"
    assert evidence_bucket["UpdateReplacePolicy"] == "Retain"


def test_evidence_expires_after_default_retention_and_aborts_stale_multipart_uploads(
        template: Template) -> None:
    template.has_resource_properties("AWS::S3::Bucket", {
        "BucketEncryption": Match.object_like({"ServerSideEncryptionConfiguration": [
            Match.object_like({"ServerSideEncryptionByDefault": Match.object_like({"SSEAlgorithm": "aws:kms"})}),
        ]}),
        "LifecycleConfiguration": {"Rules": Match.array_with([Match.object_like({
            "Status": "Enabled",
            "ExpirationInDays": 30,
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        })])},
    })


def test_access_log_bucket_is_encrypted_blocked_tls_only_and_retained(
        access_log_bucket_id: str, resources: Resources) -> None:
    bucket = resources[access_log_bucket_id]
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    # S3 server access logging cannot deliver to SSE-KMS buckets: SSE-S3 is the documented option.
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert bucket["Properties"]["PublicAccessBlockConfiguration"] == ALL_PUBLIC_ACCESS_BLOCKED
    assert _denies_plain_http(resources, access_log_bucket_id)
    assert bucket["DeletionPolicy"] == "Retain"


def test_access_log_delivery_is_limited_to_the_evidence_bucket_of_this_account(
        access_log_bucket_id: str, template_json: dict[str, Any], resources: Resources) -> None:
    grants = [s for s in policy_statements(resources)
              if s.owner_type == "AWS::S3::BucketPolicy" and s.allows
              and ref_id(resources[s.owner]["Properties"]["Bucket"]) == access_log_bucket_id]
    assert grants, "the access-log bucket must let the S3 logging service write"
    evidence_id = output_ref(template_json, "EvidenceBucketName")
    for grant in grants:
        assert grant.body["Principal"] == {"Service": "logging.s3.amazonaws.com"}
        assert grant.actions == ["s3:PutObject"]
        assert ref_id(grant.conditions["ArnLike"]["aws:SourceArn"]) == evidence_id
        assert grant.conditions["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}


def test_records_table_has_pitr_ttl_customer_key_time_index_and_is_retained(
        template_json: dict[str, Any], resources: Resources, rotating_keys: set[str]) -> None:
    table = resources[output_ref(template_json, "TableName")]
    properties = table["Properties"]
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["SSESpecification"]["SSEType"] == "KMS"
    assert ref_id(properties["SSESpecification"]["KMSMasterKeyId"]) in rotating_keys
    assert "by-time" in [index["IndexName"] for index in properties["GlobalSecondaryIndexes"]]
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


def test_outcome_topic_is_kms_encrypted_and_tls_only(
        template: Template, template_json: dict[str, Any], resources: Resources, rotating_keys: set[str]) -> None:
    topic_id = output_ref(template_json, "TopicArn")
    assert ref_id(resources[topic_id]["Properties"]["KmsMasterKeyId"]) in rotating_keys
    template.has_resource_properties("AWS::SNS::TopicPolicy", {
        "Topics": [{"Ref": topic_id}],
        "PolicyDocument": Match.object_like({"Statement": Match.array_with([Match.object_like({
            "Effect": "Deny",
            "Action": "sns:Publish",
            "Principal": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        })])}),
    })


def test_default_configuration_subscribes_no_one(template: Template) -> None:
    template.resource_count_is("AWS::SNS::Subscription", 0)


def test_only_evidence_expires_and_symbols_are_kept(evidence_bucket: dict[str, Any]) -> None:
    # The expiry that removes old dumps must not remove the debug symbols that read them.
    rules = {rule["Id"]: rule for rule in evidence_bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert set(rules) == {"expire-evidence", "keep-symbols"}
    assert rules["expire-evidence"]["Prefix"] == "remediations/"
    assert rules["expire-evidence"]["ExpirationInDays"] == 30
    symbols = rules["keep-symbols"]
    assert symbols["Prefix"] == "symbols/" and symbols["Status"] == "Enabled"
    assert "ExpirationInDays" not in symbols and "ExpirationDate" not in symbols
    assert symbols["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    assert symbols["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
