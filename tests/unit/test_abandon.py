"""After a failure while collecting: nothing half-done stays, and live URLs die with their manifests."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config
from botocore.stub import Stubber
from panic_button.logic.abandon import abandon_collection
from panic_button.logic.collection_protocol import collection_keys, plan_upload, write_locate_manifest
from panic_button.logic.outcome import decide_outcome
from panic_button.models.collection import LocateResult
from panic_button.outcomes import Outcome

from .support import BUCKET, INSTANCE, NOW, SESSION, aws_client, remediation_state, target_part

COMMAND_ID = "0b8a6c1e-3f0e-4f7a-9d55-2c1b7a9e4d10"
LOCATED = LocateResult(status="found", layout="rhel", dump_path="/var/crash/127.0.0.1-2026-11-20-03:13:00/vmcore",
                       dump_size=20 * 1024 * 1024, dump_mtime=int(NOW.timestamp()), not_before=int(NOW.timestamp()))


@pytest.fixture
def s3(aws: None) -> Any:
    """Presigning needs SigV4, as the Lambdas' S3 client uses (panic_button.aws)."""
    client = SESSION.client("s3", config=Config(signature_version="s3v4"))
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def ssm() -> Any:
    client = aws_client("ssm")
    with Stubber(client) as stubber:
        stubber.add_response("cancel_command", {}, {"CommandId": COMMAND_ID, "InstanceIds": [INSTANCE]})
        yield client
        stubber.assert_no_pending_responses()  # the running upload command was cancelled


def upload_state(s3: Any, **parts: Any) -> Any:
    keys = collection_keys(INSTANCE, "run-1")
    write_locate_manifest(s3, bucket=BUCKET, keys=keys, interrupted_at=NOW)
    plan = plan_upload(s3, bucket=BUCKET, keys=keys, located=LOCATED)
    upload = {"phase": "upload", "command_id": COMMAND_ID, "document": "doc", "sent_at": NOW.isoformat(),
              "plan": plan.model_dump(mode="json", exclude={"manifest": {"manifest_url"}})}
    return plan, remediation_state(target=target_part(), upload=upload, **parts)


def manifests(s3: Any) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []) if o["Key"].endswith(".manifest")]


def test_a_failed_upload_is_cancelled_aborted_and_its_urls_deleted(s3: Any, ssm: Any) -> None:
    _, state = upload_state(s3, error={"Error": "CollectionFailed", "Cause": "{\"errorMessage\": \"timed out\"}"})
    assert manifests(s3) and s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")

    abandoned = abandon_collection(ssm, s3, state)

    assert "command was cancelled" in abandoned.detail and "aborted" in abandoned.detail, abandoned.detail
    assert not s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")
    assert manifests(s3) == []


def test_a_completed_but_unverified_dump_is_kept_and_marked(s3: Any, ssm: Any) -> None:
    plan, state = upload_state(s3, error={"Error": "Sandbox.Timedout", "Cause": "Task timed out after 900 s"})
    part = s3.upload_part(Bucket=BUCKET, Key=plan.dump_key, UploadId=plan.upload_id, PartNumber=1, Body=b"x" * 100)
    s3.complete_multipart_upload(Bucket=BUCKET, Key=plan.dump_key, UploadId=plan.upload_id,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})

    abandoned = abandon_collection(ssm, s3, state)

    tags = s3.get_object_tagging(Bucket=BUCKET, Key=plan.dump_key)["TagSet"]
    assert {"Key": "panic-button:verified", "Value": "false"} in tags
    assert "UNVERIFIED" in abandoned.detail and manifests(s3) == []
    decision = decide_outcome(state.model_copy(update={"abandon": abandoned}))
    assert decision.outcome is Outcome.COLLECTION_FAILED  # a timeout while collecting is a collection failure
    assert "UNVERIFIED" in decision.reason


def test_a_known_outcome_keeps_its_code_with_the_cleanup_noted(s3: Any, ssm: Any) -> None:
    _, state = upload_state(s3, error={"Error": "NoDumpFound", "Cause": "{\"errorMessage\": \"no dump\"}"})
    state = state.model_copy(update={"abandon": abandon_collection(ssm, s3, state)})
    decision = decide_outcome(state)
    assert decision.outcome is Outcome.RECOVERED_NO_DUMP
    assert decision.reason.startswith("no dump; ")
