"""After a sandbox collection, no presigned URL that still works is anywhere but with the collector:
SendCommand parameters and command output (ListCommands, GetCommandInvocation), the Step Functions
history, every log line the Lambdas and the sandbox printed, and every object and noncurrent version
in every bucket (collector logs and results included, and the S3 server access logs, where every URL the
collector used is recorded with its signature).

"Works" is judged by S3 itself (the sandbox verifies SigV4 signatures and expiry): each URL found is
tried with GET and with an empty PUT, without any secret header value."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.exceptions import ClientError

from panic_button_cli.simulation import simulate
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.instances import InstanceSpec
from panic_button_sandbox.sandbox import Sandbox
from tests.workflow.execution_control import entered, finish, start, wait_until

MANUAL = [("input", '{"instance_id": "${INSTANCE_ID}", "reason": "leak scan"}')]
_URL = re.compile(r"https?://[^\s\"'<>\\]+?X-Amz-Signature(=|%3D)[0-9a-f]{64}")


def _works(url: str, dump_key_arn: str) -> bool:
    """Whether S3 still takes the URL from someone who reads it: with every signed header whose value is no
    secret (If-None-Match's only value, the dump key's SSE headers, which the stack's outputs name), and
    without the ones that are (the manifest key, a part's checksum)."""
    signed = parse_qs(urlsplit(url).query).get("X-Amz-SignedHeaders", [""])[0].split(";")
    guessable = {"if-none-match": "*", "x-amz-server-side-encryption": "aws:kms",
                 "x-amz-server-side-encryption-aws-kms-key-id": dump_key_arn}
    headers = {"Content-Type": "application/octet-stream",
               **{name: value for name, value in guessable.items() if name in signed}}
    for method, body in (("GET", None), ("PUT", b"")):
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                if 200 <= response.status < 300:
                    return True
        except urllib.error.HTTPError:
            continue
    return False


# An S3 server access log record: the Request-URI in quotes, later the Host header field.
_LOGGED = re.compile(r'"(?:GET|PUT|HEAD|POST) (/\S*X-Amz-Signature=[0-9a-f]{64}\S*) HTTP/1\.1" .* QueryString (\S+) ')


def _logged_urls(text: str) -> list[str]:
    """The URLs an access log record lets its reader rebuild (http: the sandbox's endpoint)."""
    return [f"http://{host}{uri}" for uri, host in _LOGGED.findall(text)]


def _texts(sandbox: Sandbox, execution_arn: str, instance_id: str) -> dict[str, str]:
    """Every place the issue lists, as text, by where it came from."""
    ssm, s3, sfn = sandbox.client("ssm"), sandbox.client("s3"), sandbox.client("stepfunctions")
    places: dict[str, str] = {}
    for command in ssm.list_commands(InstanceId=instance_id)["Commands"]:
        places[f"ListCommands {command['CommandId']}"] = json.dumps(command, default=str)
        invocation = ssm.get_command_invocation(CommandId=command["CommandId"], InstanceId=instance_id)
        places[f"GetCommandInvocation {command['CommandId']}"] = json.dumps(invocation, default=str)
    history = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    places["execution history"] = json.dumps(history, default=str)
    for bucket in (b["Name"] for b in s3.list_buckets()["Buckets"]):
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for version in page.get("Versions", []):
                body = s3.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"]
                places[f"s3://{bucket}/{version['Key']}?versionId={version['VersionId']}"] = (
                    body.read(4 * 1024 * 1024).decode("utf-8", errors="replace"))
    return places


@pytest.mark.parametrize("platform", ["linux", "windows"])
def test_no_working_url_is_left_anywhere(deployed: tuple[Sandbox, Deployment], platform: str,
                                         capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    sandbox, deployment = deployed
    spec = InstanceSpec(platform=platform, dump_bytes=12 * 1024 * 1024)  # type: ignore[arg-type]
    report = simulate(sandbox, deployment, spec, MANUAL)
    [result] = report.results
    assert result.outcome == "DUMP_COLLECTED", result.reason
    assert result.execution_arn is not None
    captured = capfd.readouterr()
    places = _texts(sandbox, result.execution_arn, result.instance_id)
    places["Lambda and sandbox stdout/stderr"] = captured.out + captured.err
    places["log records"] = "\n".join(record.getMessage() for record in caplog.records)

    # This run's URLs only: the access logs are the bucket's, shared with every other test's runs.
    own = result.execution_arn.rsplit(":", 1)[-1]
    found = {place: [url for url in [m.group(0) for m in _URL.finditer(text)] + _logged_urls(text) if own in url]
             for place, text in places.items()}
    assert any(found.values()), "the scan found no URL at all: it would pass whatever leaked"
    logs = deployment.outputs["AccessLogsBucketName"]
    assert [place for place, urls in found.items() if urls and f"s3://{logs}/" in place], \
        "the S3 server access logs hold no URL: the place the collector's URLs end up was not scanned"
    dump_key = deployment.outputs["DumpKeyArn"]
    live = {place: [url for url in urls if _works(url.replace("\\u0026", "&").replace("%3D", "="), dump_key)]
            for place, urls in found.items() if urls}
    assert {place: urls for place, urls in live.items() if urls} == {}



class ManifestCopies:
    """The run's manifests as whoever read them while they were live holds them (the instance does): copied
    from the bucket every few milliseconds until `stop`, each version once."""

    def __init__(self, s3: Any, bucket: str, prefix: str) -> None:
        self.s3, self.bucket, self.prefix = s3, bucket, prefix
        self.copies: dict[str, str] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._copy, daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        while not self._done.wait(0.005):
            for item in self.s3.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix).get("Contents", []):
                if item["Key"].endswith(".manifest") and item["ETag"] not in self.copies:
                    try:
                        body = self.s3.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read()
                    except ClientError:
                        continue  # purged between the listing and the read
                    self.copies[item["ETag"]] = body.decode()

    def stop(self) -> list[str]:
        self._done.set()
        self._thread.join()
        return [m.group(0) for text in self.copies.values() for m in _URL.finditer(text)]


def test_a_windows_collection_is_given_no_dmesg_url_and_leaves_no_url_working(
        deployed: tuple[Sandbox, Deployment]) -> None:
    # Windows ships no kernel log: a dmesg URL it never used could put a forged vmcore-dmesg.txt beside the
    # verified MEMORY.DMP for six hours, so none is made.
    sandbox, deployment = deployed
    instance = sandbox.launch_instance(InstanceSpec(platform="windows", dump_bytes=12 * 1024 * 1024))
    copies = ManifestCopies(sandbox.client("s3"), deployment.outputs["EvidenceBucketName"],
                            f"remediations/{instance.instance_id}/")
    arn = start(deployed, instance.instance_id)
    _, record = finish(deployed, arn)
    held = copies.stop()

    assert record["outcome"] == "DUMP_COLLECTED", record["reason"]
    assert [url for url in held if "/collector/upload.result?" in url], f"no upload manifest was copied: {held}"
    assert [url for url in held if "/dump/vmcore-dmesg.txt?" in url] == []
    assert [url for url in held if _works(url, deployment.outputs["DumpKeyArn"])] == []


def test_a_run_stopped_while_uploading_leaves_none_of_its_manifests_urls_working(
        deployed: tuple[Sandbox, Deployment]) -> None:
    # The unused write-once URLs (whichever of the upload's result, log and dmesg the collector had not
    # written when the stop came) die with the run, not six hours later.
    sandbox, deployment = deployed
    instance = sandbox.launch_instance(InstanceSpec(dump_bytes=32 * 1024 * 1024))
    copies = ManifestCopies(sandbox.client("s3"), deployment.outputs["EvidenceBucketName"],
                            f"remediations/{instance.instance_id}/")
    arn = start(deployed, instance.instance_id)
    wait_until(lambda: entered(sandbox, arn, "AwaitUpload"), "the upload command")

    sandbox.client("stepfunctions").stop_execution(executionArn=arn)
    _, record = finish(deployed, arn)
    held = copies.stop()

    assert record["outcome"] == "WORKFLOW_ABORTED"
    assert "could not" not in record["reason"], record["reason"]
    assert [url for url in held if "/collector/upload.result?" in url], f"no upload manifest was copied: {held}"
    assert [url for url in held if _works(url, deployment.outputs["DumpKeyArn"])] == []
