"""Issue 10 section 1 through the deployed workflow: an actor acts between the upload command's exit and
SSM's report of it (the sandbox agent's exit hook), the moment CompleteUpload's checks must catch. A part
re-sent through its leaked URL, and a result written again through its own, are refused by S3 itself (a
part URL signs its checksum, a result URL writes once); a part or a result replaced by an IAM writer, and
the stdout hash of another dump, each end COLLECTION_FAILED, the dump kept, tagged unverified and named in
the reason."""

from __future__ import annotations

import base64
import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from panic_button.models.collection import Manifest

from panic_button_cli.simulation import TriggerResult, simulate
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.instances import InstanceSpec
from panic_button_sandbox.sandbox import Sandbox
from tests.presigned_put import put

Deployed = tuple[Sandbox, Deployment]
Actor = Callable[[Sandbox, Manifest, str], str]  # (sandbox, upload manifest, stdout) -> stdout SSM reports
MANUAL = [("input", '{"instance_id": "${INSTANCE_ID}", "reason": "integrity test"}')]
UNVERIFIED = {"Key": "panic-button:verified", "Value": "false"}


@pytest.fixture
def acting(deployed: Deployed) -> Iterator[Callable[[Actor], TriggerResult]]:
    """Run one rescue with `actor` acting once the upload command's script has exited."""
    sandbox, deployment = deployed

    def run(actor: Actor) -> TriggerResult:
        failures: list[BaseException] = []

        def hook(parameters: dict[str, list[str]], stdout: str) -> str:
            if parameters.get("Action") != ["upload"]:
                return stdout
            try:
                return actor(sandbox, _manifest(sandbox, parameters["ManifestUrl"][0]), stdout)
            except BaseException as failure:  # raised in the agent's thread: handed to the test instead
                failures.append(failure)
                return stdout

        sandbox.on_script_exit(hook)
        [result] = simulate(sandbox, deployment, InstanceSpec(dump_bytes=3 * 1024 * 1024), MANUAL).results
        if failures:
            raise failures[0]
        return result

    yield run
    sandbox.on_script_exit(None)


def _manifest(sandbox: Sandbox, url: str) -> Manifest:
    """The upload manifest, as whoever leaked it holds it (read here by the sandbox's own client)."""
    bucket, _, key = urlsplit(url).path.lstrip("/").partition("/")
    return Manifest.from_text(sandbox.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode())


def _bucket_key(url: str) -> tuple[str, str]:
    bucket, _, key = urlsplit(url).path.lstrip("/").partition("/")
    return bucket, key


def _result_text(sandbox: Sandbox, manifest: Manifest) -> str:
    bucket, key = _bucket_key(manifest.result_url)
    return str(sandbox.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode())


def _kept_unverified(deployed: Deployed, result: TriggerResult) -> str:
    """The dump's S3 URI, after checking it is kept and tagged unverified."""
    sandbox, deployment = deployed
    bucket = deployment.outputs["EvidenceBucketName"]
    prefix = f"remediations/{result.instance_id}/{(result.execution_arn or '').rsplit(':', 1)[-1]}/dump/"
    s3 = sandbox.client("s3")
    [key] = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
             if not item["Key"].endswith((".txt", ".json"))]
    assert UNVERIFIED in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    assert not s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}manifest.json").get("Contents")
    return f"s3://{bucket}/{key}"


def test_a_part_re_sent_through_its_url_with_other_bytes_is_refused_and_the_dump_verifies(
        acting: Callable[[Actor], TriggerResult]) -> None:
    answers: list[int] = []

    def resend(_: Sandbox, manifest: Manifest, stdout: str) -> str:
        other = os.urandom(min(manifest.part_size or 0, manifest.expect_size or 0))  # one part: the dump
        own = base64.b64encode(hashlib.sha256(other).digest()).decode()
        answers.append(put(manifest.part_urls[0], other, {"x-amz-checksum-sha256": manifest.part_checksums[0]})[0])
        answers.append(put(manifest.part_urls[0], other, {"x-amz-checksum-sha256": own})[0])
        return stdout

    result = acting(resend)

    assert answers == [400, 403]  # BadDigest; a checksum other than the signed one breaks the signature
    assert result.outcome == "DUMP_COLLECTED", result.reason


def test_a_part_replaced_by_an_iam_writer_fails_and_the_dump_stays_unverified(
        deployed: Deployed, acting: Callable[[Actor], TriggerResult]) -> None:
    def replace(sandbox: Sandbox, manifest: Manifest, stdout: str) -> str:
        # s3:PutObject on the bucket needs no URL: the part, then the result to name its new ETag
        s3 = sandbox.client("s3")
        query = dict(pair.split("=", 1) for pair in urlsplit(manifest.part_urls[0]).query.split("&"))
        bucket, key = _bucket_key(manifest.part_urls[0])
        upload_id = urllib.request.unquote(query["uploadId"])
        other = os.urandom(min(manifest.part_size or 0, manifest.expect_size or 0))
        s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1,
                       Body=other, ChecksumSHA256=base64.b64encode(hashlib.sha256(other).digest()).decode())
        etag = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)["Parts"][0]["ETag"].strip('"')
        text = _result_text(sandbox, manifest)
        genuine = next(line for line in text.splitlines() if line.startswith("part=1 ")).split()[1]
        result_bucket, result_key = _bucket_key(manifest.result_url)
        s3.put_object(Bucket=result_bucket, Key=result_key, Body=text.replace(genuine, etag).encode())
        return stdout

    result = acting(replace)

    assert result.outcome == "COLLECTION_FAILED"
    assert f"UNVERIFIED dump kept at {_kept_unverified(deployed, result)}" in result.reason
    assert "S3's composite SHA-256 is" in result.reason and "the part URLs were signed for" in result.reason


def test_a_result_url_writes_once_and_a_result_forged_by_an_iam_writer_fails_unverified(
        deployed: Deployed, acting: Callable[[Actor], TriggerResult]) -> None:
    answers: list[int] = []

    def forge(sandbox: Sandbox, manifest: Manifest, stdout: str) -> str:
        text = _result_text(sandbox, manifest)
        genuine = next(line for line in text.splitlines() if line.startswith("part=1 "))
        forged = text.replace(genuine, " ".join([*genuine.split()[:2], hashlib.sha256(b"other").hexdigest()]))
        # its leaked URL: unsigned without If-None-Match, and with it the collector's result already exists
        answers.extend(put(manifest.result_url, forged.encode(), headers)[0]
                       for headers in ({}, {"If-None-Match": "*"}))
        bucket, key = _bucket_key(manifest.result_url)
        sandbox.client("s3").put_object(Bucket=bucket, Key=key, Body=forged.encode())  # s3:PutObject, no URL
        return stdout

    result = acting(forge)

    assert answers == [403, 412]
    assert result.outcome == "COLLECTION_FAILED"
    assert f"UNVERIFIED dump kept at {_kept_unverified(deployed, result)}" in result.reason
    assert "the result object was replaced" in result.reason, result.reason


def test_the_stdout_hash_of_another_dump_fails_and_the_dump_stays_unverified(
        deployed: Deployed, acting: Callable[[Actor], TriggerResult]) -> None:
    other = base64.b64encode(hashlib.sha256(b"another dump").digest()).decode()

    def lie(_: Sandbox, __: Manifest, stdout: str) -> str:
        lines = [f"ssm_parts_sha256={other}" if line.startswith("ssm_parts_sha256=") else line
                 for line in stdout.splitlines()]
        return "\n".join(lines) + "\n"

    result = acting(lie)

    assert result.outcome == "COLLECTION_FAILED"
    assert f"UNVERIFIED dump kept at {_kept_unverified(deployed, result)}" in result.reason
    assert f"parts_sha256={other}" in result.reason, result.reason
