"""Ending a collection either way: abort the upload, purge the manifests (they hold live URLs), and
mark a kept but unverified dump."""

from botocore.exceptions import ClientError

from panic_button.logic.collection_s3 import S3Client
from panic_button.models.collection import CollectorAction, UploadPlan

UNVERIFIED_TAG = {"Key": "panic-button:verified", "Value": "false"}


def abort_upload(s3: S3Client, plan: UploadPlan) -> None:
    """For the workflow's failure paths (e.g. the upload command timed out): nothing half-done stays."""
    try:
        s3.abort_multipart_upload(Bucket=plan.bucket, Key=plan.dump_key, UploadId=plan.upload_id)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NoSuchUpload":
            raise
    discard_manifests(s3, plan)


def tag_unverified(s3: S3Client, bucket: str, key: str) -> None:
    """A completed dump that failed verification stays for forensics, marked so triage never trusts it."""
    s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": [UNVERIFIED_TAG]})


def discard_manifests(s3: S3Client, plan: UploadPlan) -> None:
    """Manifests hold live upload URLs: delete them, every version, once the upload is over either way."""
    for action in CollectorAction:
        purge_object(s3, plan.bucket, plan.keys.collector_key(action, "manifest"))


def purge_object(s3: S3Client, bucket: str, key: str) -> int:
    """Delete every version and delete marker of `key`; returns how many went. The evidence bucket is
    versioned: a plain DeleteObject only hides the object, and GetObjectVersion still reads it."""
    found = [
        entry["VersionId"]
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key)
        for entry in (*page.get("Versions", []), *page.get("DeleteMarkers", []))
        if entry["Key"] == key  # Prefix also matches longer keys
    ]
    for version_id in found:
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version_id)
    return len(found)
