"""Crash dumps readable only by named principals: their own KMS key, whose policy gives no one but the
workflow roles that handle dumps (and the configured readers) a data action, and a bucket policy that
denies reading dump objects to every other principal."""

from __future__ import annotations

from typing import Any

from stack_build import Variant
from stack_template import Resources, as_list, function_by_handler, of_type, ref_id, render, role_of

READER = "arn:aws:iam::111122223333:role/kernel-team"
DATA_ACTIONS = {"kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt", "kms:ReEncrypt*", "kms:*", "kms:CreateGrant"}


def _dump_key(resources: Resources) -> dict[str, Any]:
    [key] = [k for k in of_type(resources, "AWS::KMS::Key").values()
             if "crash dumps" in k["Properties"].get("Description", "")]
    return key


def _principals(statement: dict[str, Any]) -> list[str]:
    return [render(p) for p in as_list(statement["Principal"].get("AWS", []))]


def _roles(resources: Resources, *handlers: str) -> set[str]:
    return {role_of(resources, function_by_handler(resources, handler)) for handler in handlers}


def test_only_the_dump_handling_roles_and_readers_can_use_the_dump_key(variant: Variant) -> None:
    resources = variant.template_json["Resources"]
    statements = _dump_key(resources)["Properties"]["KeyPolicy"]["Statement"]
    using = {(action, principal) for s in statements if s["Effect"] == "Allow"
             for action in as_list(s["Action"]) if action in DATA_ACTIONS for principal in _principals(s)}
    writers = _roles(resources, "handle_start_upload", "handle_complete_upload")
    readers = _roles(resources, "handle_triage_dump")
    assert {p for _, p in using if "root" in p} == set()  # the account administers it but cannot decrypt
    assert {ref_id_of(p) for a, p in using if a == "kms:GenerateDataKey"} == writers
    assert {ref_id_of(p) for a, p in using if a == "kms:Decrypt"} == writers | readers | {READER}


def test_the_bucket_denies_dump_reads_to_everyone_else(variant: Variant) -> None:
    resources = variant.template_json["Resources"]
    [deny] = [s for policy in of_type(resources, "AWS::S3::BucketPolicy").values()
              for s in policy["Properties"]["PolicyDocument"]["Statement"]
              if s.get("Sid") == "DumpsOnlyForNamedPrincipals"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"}
    assert set(as_list(deny["Action"])) == {"s3:GetObject", "s3:GetObjectVersion"}
    assert render(deny["Resource"]).endswith("/remediations/*/dump/*")
    allowed = {ref_id_of(render(a)) for a in deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]}
    # The cleaners (AbandonCollection, the aborted-run recorder) head the dump without the key: exempted here only.
    assert allowed == _roles(resources, "handle_start_upload", "handle_complete_upload", "handle_triage_dump",
                             "handle_abandon_collection", "handle_record_aborted_run") | {READER}


def test_no_step_that_reads_no_dump_holds_get_object_on_dumps(variant: Variant) -> None:
    # CaptureEvidence reads nothing; StartLocate and StartUpload read only collector/ (their manifests, through
    # the URLs they sign, and the locate result).
    resources = variant.template_json["Resources"]
    no_dumps = _roles(resources, "handle_capture_evidence", "handle_start_locate", "handle_start_upload")
    for policy in of_type(resources, "AWS::IAM::Policy").values():
        if {ref_id(r) for r in policy["Properties"].get("Roles", [])} & no_dumps:
            read = [render(r) for s in policy["Properties"]["PolicyDocument"]["Statement"]
                    if "s3:GetObject" in as_list(s["Action"]) for r in as_list(s["Resource"])]
            assert all(r.endswith("/remediations/*/collector/*") for r in read), read


def ref_id_of(rendered: str) -> str:
    """The logical ID of a rendered `${Role.Arn}`, or the literal ARN."""
    return rendered[2:-len(".Arn}")] if rendered.startswith("${") and rendered.endswith(".Arn}") else rendered

