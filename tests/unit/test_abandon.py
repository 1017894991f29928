"""After a failure while collecting: nothing half-done stays, and live URLs die with their manifests.
Every cleanup step runs whatever another answered; "already done" answers count as done."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from panic_button.errors import InvalidInput
from panic_button.logic.abandon import abandon_collection
from panic_button.logic.collection_cleanup import SPENT_NOTE
from panic_button.logic.collection_plan import collection_keys, plan_upload, write_locate_manifest
from panic_button.logic.collection_s3 import composite_sha256
from panic_button.logic.outcome import decide_outcome
from panic_button.models.collection import CollectorAction, LocateResult
from panic_button.models.state import Abandoned, RemediationState
from panic_button.outcomes import Outcome

from .support import BUCKET, INSTANCE, NOW, SESSION, aws_client, remediation_state, target_part

COMMAND_ID = "0b8a6c1e-3f0e-4f7a-9d55-2c1b7a9e4d10"
LOCATE_ID = "5c1d7e2f-4a0b-4c8d-8e66-3d2c8b0f5e21"
KEYS = collection_keys(INSTANCE, "run-1")
_PART_HASH = hashlib.sha256(b"").hexdigest()
LOCATED = LocateResult(status="found", layout="rhel", dump_path="/var/crash/127.0.0.1-2026-11-20-03:13:00/vmcore",
                       dump_size=20 * 1024 * 1024, dump_mtime=int(NOW.timestamp()), not_before=int(NOW.timestamp()),
                       part_size=64 * 1024 * 1024, part_count=1, part_hashes=(_PART_HASH,),
                       manifest_key=base64.b64encode(bytes(32)).decode())
LOCATE_STDOUT = (f"ssm_parts_sha256={composite_sha256([_PART_HASH])}\n"
                 f"ssm_manifest_key_sha256={hashlib.sha256(bytes(32)).hexdigest()}\n")
FAILED = {"Error": "CollectionFailed", "Cause": "{\"errorMessage\": \"timed out\"}"}


@pytest.fixture
def s3(aws: None) -> Any:
    """Presigning needs SigV4, as the Lambdas' S3 client uses (panic_button.aws)."""
    client = SESSION.client("s3", config=Config(signature_version="s3v4"))
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def versioned(s3: Any) -> Any:
    """Like the deployed evidence bucket (infra/constructs/evidence_store.py)."""
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return s3


@pytest.fixture
def ssm() -> Iterator[Any]:
    client = aws_client("ssm")
    with Stubber(client) as stubber:
        stubber.add_response("cancel_command", {}, {"CommandId": COMMAND_ID, "InstanceIds": [INSTANCE]})
        yield client
        stubber.assert_no_pending_responses()  # the running upload command was cancelled


def ssm_answering(*answers: str | None) -> tuple[Any, Stubber]:
    """An SSM client whose CancelCommand answers, in turn, {} (None) or the error code given. Its own
    client: a Stubber left active on the shared one would answer the next test's calls."""
    client = SESSION.client("ssm")
    stubber = Stubber(client)
    for answer in answers:
        if answer is None:
            stubber.add_response("cancel_command", {})
        else:
            stubber.add_client_error("cancel_command", service_error_code=answer,
                                     http_status_code=500 if answer == "InternalServerError" else 400)
    stubber.activate()
    return client, stubber


def refuse(s3: Any, operation: str, code: str = "AccessDenied", key: str | None = None) -> None:
    """S3 (moto) refuses `operation`, for `key` only when given, as a missing IAM grant would."""
    def deny(params: dict[str, Any], **_: Any) -> None:
        if key is None or params.get("Key") == key:
            raise ClientError({"Error": {"Code": code, "Message": "refused by the test"}}, operation)

    s3.meta.events.register(f"provide-client-params.s3.{operation}", deny)


def upload_state(s3: Any, **parts: Any) -> Any:
    write_locate_manifest(s3, bucket=BUCKET, keys=KEYS, interrupted_at=NOW)
    plan = plan_upload(s3, bucket=BUCKET, keys=KEYS, located=LOCATED, locate_stdout=LOCATE_STDOUT).plan
    upload = {"phase": "upload", "command_id": COMMAND_ID, "document": "doc", "sent_at": NOW.isoformat(),
              "upload": plan.model_dump(mode="json")}
    return plan, remediation_state(target=target_part(), upload=upload, **parts)


def locate_state(s3: Any) -> RemediationState:
    """The locate command timed out: no upload was ever planned, only the locate manifest exists."""
    write_locate_manifest(s3, bucket=BUCKET, keys=KEYS, interrupted_at=NOW)
    locate = {"phase": "locate", "command_id": LOCATE_ID, "document": "doc", "sent_at": NOW.isoformat()}
    return remediation_state(target=target_part(), locate=locate, error=FAILED)


def abandon(ssm: Any, s3: Any, state: RemediationState) -> Abandoned:
    return abandon_collection(ssm, s3, state, bucket=BUCKET, keys=KEYS)


def manifest_versions(s3: Any) -> list[str]:
    """Every version and delete marker of a manifest: a noncurrent version still serves its URLs."""
    listed = s3.list_object_versions(Bucket=BUCKET, Prefix=KEYS.prefix)
    entries = [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]
    return [e["Key"] for e in entries if e["Key"].endswith(".manifest")]


def uploads(s3: Any) -> list[Any]:
    return list(s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []))


def test_a_failed_upload_is_cancelled_aborted_and_its_urls_deleted(s3: Any, ssm: Any) -> None:
    _, state = upload_state(s3, error=FAILED)
    assert manifest_versions(s3) and uploads(s3)

    abandoned = abandon(ssm, s3, state)

    assert "command was cancelled" in abandoned.detail and "aborted" in abandoned.detail, abandoned.detail
    assert abandoned.not_cleaned == [] and "could not" not in abandoned.detail
    assert uploads(s3) == [] and manifest_versions(s3) == []


def test_a_failed_locate_loses_its_manifest_though_no_upload_was_planned(s3: Any) -> None:
    ssm, stubber = ssm_answering("InvalidCommandId")  # it timed out: SSM has ended it already
    state = locate_state(s3)
    assert manifest_versions(s3)

    abandoned = abandon(ssm, s3, state)

    stubber.assert_no_pending_responses()
    assert manifest_versions(s3) == []
    assert abandoned.not_cleaned == [], abandoned.detail
    assert abandoned.detail == ("the locate command had already ended; locate.manifest deleted (1 version); "
                                "2 unused write-once URLs used up")


def test_the_write_once_urls_the_collector_did_not_use_are_used_up_and_its_writes_stay(s3: Any) -> None:
    ssm, _ = ssm_answering("InvalidCommandId")
    state = locate_state(s3)
    written = KEYS.collector_key(CollectorAction.LOCATE, "result")
    s3.put_object(Bucket=BUCKET, Key=written, Body=b"status found\n", IfNoneMatch="*")  # the collector's

    abandoned = abandon(ssm, s3, state)

    # Only the locate manifest went out: its log gets the note, its result stays the collector's, and the
    # upload's keys (no URL was ever made for them) stay empty.
    assert abandoned.detail.endswith("; 1 unused write-once URL used up")
    log = KEYS.collector_key(CollectorAction.LOCATE, "log")
    assert s3.get_object(Bucket=BUCKET, Key=written)["Body"].read() == b"status found\n"
    assert s3.get_object(Bucket=BUCKET, Key=log)["Body"].read() == SPENT_NOTE.encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert not [key for key in KEYS.write_once_keys(CollectorAction.UPLOAD, dmesg=True) if key in listed]
    # The key exists now, so the write-once URL's PUT (If-None-Match: *) meets 412.
    with pytest.raises(ClientError, match="PreconditionFailed"):
        s3.put_object(Bucket=BUCKET, Key=log, Body=b"forged log", IfNoneMatch="*")


def test_every_version_of_every_manifest_goes_from_a_versioned_bucket(versioned: Any, ssm: Any) -> None:
    write_locate_manifest(versioned, bucket=BUCKET, keys=KEYS, interrupted_at=NOW)  # a retried StartLocate
    _, state = upload_state(versioned, error=FAILED)
    # A plain delete only hides the object behind a delete marker.
    versioned.delete_object(Bucket=BUCKET, Key=KEYS.collector_key(CollectorAction.UPLOAD, "manifest"))
    # Planning purged both locate versions; the upload version and its delete marker are left.
    assert len(manifest_versions(versioned)) == 2

    abandoned = abandon(ssm, versioned, state)

    assert manifest_versions(versioned) == []
    assert "upload.manifest deleted (2 versions)" in abandoned.detail, abandoned.detail


def test_a_failed_cancel_still_aborts_and_deletes(s3: Any) -> None:
    ssm, _ = ssm_answering("InternalServerError")
    _, state = upload_state(s3, error=FAILED)

    abandoned = abandon(ssm, s3, state)

    assert abandoned.not_cleaned == ["could not cancel the upload command (InternalServerError)"]
    assert uploads(s3) == [] and manifest_versions(s3) == []


def test_a_failed_abort_still_cancels_and_deletes(s3: Any, ssm: Any) -> None:
    _, state = upload_state(s3, error=FAILED)
    refuse(s3, "AbortMultipartUpload")

    abandoned = abandon(ssm, s3, state)

    assert abandoned.not_cleaned == ["could not abort the multipart upload (AccessDenied)"]
    assert "the upload command was cancelled" in abandoned.detail  # the Stubber checks the call was made
    assert manifest_versions(s3) == []


def test_a_failed_manifest_delete_still_cancels_aborts_and_deletes_the_other(versioned: Any, ssm: Any) -> None:
    _, state = upload_state(versioned, error=FAILED)
    upload_key = KEYS.collector_key(CollectorAction.UPLOAD, "manifest")
    refuse(versioned, "DeleteObject", key=upload_key)

    abandoned = abandon(ssm, versioned, state)

    assert abandoned.not_cleaned == ["could not delete every version of upload.manifest (AccessDenied)"]
    assert uploads(versioned) == [] and manifest_versions(versioned) == [upload_key]
    assert "\n" not in abandoned.detail and abandoned.detail.startswith("could not delete every version of")


def test_without_listing_versions_the_current_manifest_still_goes(versioned: Any, ssm: Any) -> None:
    _, state = upload_state(versioned, error=FAILED)
    refuse(versioned, "ListObjectVersions")

    abandoned = abandon(ssm, versioned, state)

    assert abandoned.not_cleaned == [f"could not delete every version of {name}.manifest (AccessDenied)"
                                     for name in ("locate", "upload")]
    current = versioned.list_objects_v2(Bucket=BUCKET, Prefix=KEYS.prefix).get("Contents", [])
    assert not [o for o in current if o["Key"].endswith(".manifest")]


def test_answers_meaning_already_done_count_as_done(s3: Any) -> None:
    ssm, stubber = ssm_answering("InvalidCommandId")
    plan, state = upload_state(s3, error=FAILED)
    s3.abort_multipart_upload(Bucket=BUCKET, Key=plan.dump_key, UploadId=plan.upload_id)  # NoSuchUpload next
    for action in CollectorAction:
        s3.delete_object(Bucket=BUCKET, Key=KEYS.collector_key(action, "manifest"))  # nothing left to delete

    abandoned = abandon(ssm, s3, state)

    stubber.assert_no_pending_responses()
    assert abandoned.not_cleaned == []
    # The upload manifest went out (the state holds its plan): its three write-once URLs are used up.
    assert abandoned.detail == ("the upload command had already ended; the multipart upload was already gone; "
                                "3 unused write-once URLs used up")


def test_every_failure_is_listed_in_one_line(s3: Any) -> None:
    ssm, _ = ssm_answering("InternalServerError", "ThrottlingException")
    _, state = upload_state(s3, error=FAILED)
    state = state.model_copy(update={"locate": state.upload.model_copy(update={"phase": "locate"})})
    refuse(s3, "AbortMultipartUpload", "SlowDown")
    refuse(s3, "ListObjectVersions")
    refuse(s3, "DeleteObject")

    abandoned = abandon(ssm, s3, state)

    assert abandoned.not_cleaned == [
        "could not cancel the locate command (InternalServerError)",
        "could not cancel the upload command (ThrottlingException)",
        "could not abort the multipart upload (SlowDown)",
        "could not delete every version of locate.manifest (AccessDenied)",
        "could not delete every version of upload.manifest (AccessDenied)",
    ]
    assert abandoned.detail == "; ".join([*abandoned.not_cleaned, "5 unused write-once URLs used up"])
    reason = decide_outcome(state.model_copy(update={"abandon": abandoned})).reason
    assert "\n" not in reason and reason.endswith(abandoned.detail)


def test_a_completed_but_unverified_dump_is_kept_and_marked(s3: Any, ssm: Any) -> None:
    plan, state = upload_state(s3, error={"Error": "Sandbox.Timedout", "Cause": "Task timed out after 900 s"})
    part = s3.upload_part(Bucket=BUCKET, Key=plan.dump_key, UploadId=plan.upload_id, PartNumber=1, Body=b"x" * 100)
    s3.complete_multipart_upload(Bucket=BUCKET, Key=plan.dump_key, UploadId=plan.upload_id,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})

    abandoned = abandon(ssm, s3, state)

    tags = s3.get_object_tagging(Bucket=BUCKET, Key=plan.dump_key)["TagSet"]
    assert {"Key": "panic-button:verified", "Value": "false"} in tags
    assert "UNVERIFIED" in abandoned.detail and manifest_versions(s3) == []
    decision = decide_outcome(state.model_copy(update={"abandon": abandoned}))
    assert decision.outcome is Outcome.COLLECTION_FAILED  # a timeout while collecting is a collection failure
    assert "UNVERIFIED" in decision.reason


def test_a_known_outcome_keeps_its_code_with_the_cleanup_noted(s3: Any, ssm: Any) -> None:
    _, state = upload_state(s3, error={"Error": "NoDumpFound", "Cause": "{\"errorMessage\": \"no dump\"}"})
    state = state.model_copy(update={"abandon": abandon(ssm, s3, state)})
    decision = decide_outcome(state)
    assert decision.outcome is Outcome.RECOVERED_NO_DUMP
    assert decision.reason.startswith("no dump; ")


def test_a_plan_outside_this_executions_prefix_is_refused(s3: Any) -> None:
    plan, state = upload_state(s3, error=FAILED)
    foreign = plan.model_copy(update={"dump_key": "remediations/i-0other/run-9/dump/vmcore"})
    crafted = state.model_copy(update={"upload": state.upload.model_copy(update={"upload": foreign})})
    ssm, _ = ssm_answering()
    with pytest.raises(InvalidInput, match="outside this execution's prefix"):
        abandon(ssm, s3, crafted)
