"""Ending a collection either way: abort the upload, retire its URLs (purge the manifests, use up the
write-once URLs), and mark a kept but unverified dump."""

from collections.abc import Iterable

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
    retire_urls(s3, plan)


def tag_unverified(s3: S3Client, bucket: str, key: str) -> None:
    """A completed dump that failed verification stays for forensics, marked so triage never trusts it."""
    s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": [UNVERIFIED_TAG]})


def retire_urls(s3: S3Client, plan: UploadPlan) -> None:
    """Once the upload is over either way, no URL it was given may still work: the manifests hold the
    upload URLs (every version goes), and the write-once URLs the collector did not use are used up."""
    for action in CollectorAction:
        purge_object(s3, plan.bucket, plan.keys.collector_key(action, "manifest"))
    spend_write_once_urls(s3, plan.bucket, [key for action in CollectorAction
                                            for key in plan.keys.write_once_keys(action, dmesg=plan.ships_dmesg)])


# What a used-up key holds instead of a result: the one write its URL allowed.
SPENT_NOTE = ("panic-button: the collector did not write this key before its collection ended (or shipped no "
              "kernel log); this note uses up the key's write-once upload URL (If-None-Match: *), so that URL "
              "can no longer write here.\n")


def spend_write_once_urls(s3: S3Client, bucket: str, keys: Iterable[str]) -> list[str]:
    """Write a note, If-None-Match: *, at each of these write-once keys the collector has not written: each URL signs
    that header, so S3 answers 412 to it from now on. Returns the keys written; a 412 here means the
    collector had written that key, and it stays as it was."""
    spent = []
    for key in keys:
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=SPENT_NOTE.encode(), ContentType="text/plain",
                          IfNoneMatch="*")
        except ClientError as error:
            # 409: a write of the same key is in flight (the collector's), which uses the URL up itself.
            if error.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise
        else:
            spent.append(key)
    return spent


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
