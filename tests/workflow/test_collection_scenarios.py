"""Dump collection through the whole workflow: configured folders, incomplete dumps, large multipart uploads."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from panic_button_cli.simulation import simulate
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.instances import InstanceSpec
from panic_button_sandbox.sandbox import Sandbox

Deployed = tuple[Sandbox, Deployment]
MANUAL = [("input", '{"instance_id": "${INSTANCE_ID}", "reason": "collection scenario"}')]
MIB = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(MIB), b""):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.mark.parametrize(("layout", "config_file", "config_line"), [
    ("rhel", "etc/kdump.conf", "path /srv/crash\ncore_collector makedumpfile -l -d 31\n"),
    ("debian", "etc/default/kdump-tools", 'USE_KDUMP=1\nKDUMP_COREDIR="/data/kdump"\n'),
])
def test_a_dump_in_the_configured_folder_is_found(deployed: Deployed, layout: str, config_file: str,
                                                  config_line: str) -> None:
    sandbox, deployment = deployed
    report = simulate(sandbox, deployment, InstanceSpec(crash_layout=layout, files={config_file: config_line}), MANUAL)
    result = report.results[0]
    assert result.outcome == "DUMP_COLLECTED", result.reason
    folder = "/srv/crash/" if layout == "rhel" else "/data/kdump/"
    manifest = next(a for a in result.artifacts if a.s3_uri.endswith("/dump/manifest.json"))
    body = sandbox.client("s3").get_object(Bucket=deployment.outputs["EvidenceBucketName"],
                                           Key=manifest.s3_uri.split("/", 3)[3])["Body"].read().decode()
    assert folder in body


def test_an_incomplete_dump_is_reported_and_never_shipped(deployed: Deployed) -> None:
    sandbox, deployment = deployed
    partial = {"var/crash/127.0.0.1-2030-01-01-00:00:00/vmcore-incomplete": "half a dump"}
    report = simulate(sandbox, deployment, InstanceSpec(crash_layout="none", files=partial), MANUAL)
    result = report.results[0]
    assert result.outcome == "RECOVERED_NO_DUMP", result.reason
    assert "INCOMPLETE" in result.reason and "vmcore-incomplete" in result.reason
    assert not any("/dump/" in a.s3_uri for a in result.artifacts)


def test_a_dump_of_several_hundred_megabytes_goes_up_in_parts(deployed: Deployed) -> None:
    sandbox, deployment = deployed
    size = 300 * MIB  # sparse on the instance's disk: cheap to write, real bytes to hash and upload
    report = simulate(sandbox, deployment, InstanceSpec(crash_layout="ubuntu", dump_bytes=size), MANUAL)
    result = report.results[0]
    assert result.outcome == "DUMP_COLLECTED", result.reason
    dump = next(a for a in result.artifacts if "/dump/dump." in a.s3_uri)
    assert dump.bytes == size
    on_disk = next(p for p in sandbox.instance(result.instance_id).root.rglob("dump.*") if p.is_file())
    assert dump.sha256 == file_sha256(on_disk)
    manifest = next(a for a in result.artifacts if a.s3_uri.endswith("/dump/manifest.json"))
    body = sandbox.client("s3").get_object(Bucket=deployment.outputs["EvidenceBucketName"],
                                           Key=manifest.s3_uri.split("/", 3)[3])["Body"].read().decode()
    assert '"part_count": 5' in body


def test_the_dump_and_its_dmesg_are_under_the_dump_key_not_the_bucket_default(deployed: Deployed) -> None:
    sandbox, deployment = deployed
    report = simulate(sandbox, deployment, InstanceSpec(crash_layout="rhel"), MANUAL)
    result = report.results[0]
    assert result.outcome == "DUMP_COLLECTED", result.reason
    s3, bucket = sandbox.client("s3"), deployment.outputs["EvidenceBucketName"]
    default = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0][
        "ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    names = {"vmcore": "dump", "vmcore-dmesg.txt": "dmesg"}
    keys = {names[a.s3_uri.rsplit("/", 1)[-1]]: s3.head_object(Bucket=bucket, Key=a.s3_uri.split("/", 3)[3]).get(
        "SSEKMSKeyId") for a in result.artifacts if a.s3_uri.rsplit("/", 1)[-1] in names}
    assert set(keys) == {"dump", "dmesg"} and len(set(keys.values())) == 1
    assert keys["dump"] and default.rsplit("/", 1)[-1] not in keys["dump"]


def test_a_dump_bigger_than_the_instance_memory_is_not_collected(deployed: Deployed) -> None:
    sandbox, deployment = deployed
    spec = InstanceSpec(instance_type="t3.nano", crash_layout="rhel", dump_bytes=700 * MIB)  # 512 MiB of memory
    report = simulate(sandbox, deployment, spec, MANUAL)
    result = report.results[0]
    assert result.outcome == "COLLECTION_FAILED", result.reason
    assert "more than a t3.nano's memory (536870912 bytes) can produce" in result.reason
    uploads = sandbox.client("s3").list_multipart_uploads(Bucket=deployment.outputs["EvidenceBucketName"])
    assert [u for u in uploads.get("Uploads", []) if result.instance_id in u["Key"]] == []


def test_without_the_command_end_events_the_fallback_poll_still_collects(deployed: Deployed) -> None:
    # Given SSM's end events reach nobody (the rule's target removed: as if EventBridge lost them)
    sandbox, deployment = deployed
    events = sandbox.client("events")
    [rule] = [r["Name"] for r in events.list_rules()["Rules"] if "CommandEndRule" in r["Name"]]
    targets = events.list_targets_by_rule(Rule=rule)["Targets"]
    events.remove_targets(Rule=rule, Ids=[target["Id"] for target in targets])
    entered: list[str] = []
    try:
        report = simulate(sandbox, deployment, InstanceSpec(), MANUAL,
                          listener=lambda _arn, state, _seconds: entered.append(state))
    finally:
        events.put_targets(Rule=rule, Targets=targets)
    # Then each Await step times out into its poll, and the rescue ends as it would have
    result = report.results[0]
    assert result.outcome == "DUMP_COLLECTED", result.reason
    assert {"AwaitLocate", "PollLocate", "AwaitUpload", "PollUpload"} <= set(entered)
    assert entered.index("PollLocate") > entered.index("AwaitLocate")
