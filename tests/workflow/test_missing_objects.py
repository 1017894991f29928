"""Steps replayed with their real input from a completed run: as Step Functions reruns them (a
Lambda.ServiceException after the handler ran), and after an S3 object they read is removed. On AWS, S3
answers a missing key with 403 AccessDenied unless the caller may s3:ListBucket, so those paths only work
when the step's role has it; the sandbox's IAM answers the same."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from panic_button_cli.simulation import simulate
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.instances import InstanceSpec
from panic_button_sandbox.sandbox import Sandbox

Deployed = tuple[Sandbox, Deployment]
MANUAL = '{"instance_id": "${INSTANCE_ID}", "reason": "missing-object test"}'


@pytest.fixture(scope="module")
def collected(deployed: Deployed) -> dict[str, dict[str, Any]]:
    """The input each step of one successful collection received, by state name."""
    sandbox, deployment = deployed
    [result] = simulate(sandbox, deployment, InstanceSpec(), [("input", MANUAL)]).results
    assert result.outcome == "DUMP_COLLECTED", result.reason
    history = sandbox.client("stepfunctions").get_execution_history(executionArn=result.execution_arn,
                                                                    maxResults=1000)["events"]
    return {event["stateEnteredEventDetails"]["name"]: json.loads(event["stateEnteredEventDetails"]["input"])
            for event in history if "stateEnteredEventDetails" in event}


def _function(deployment: Deployment, step: str) -> str:
    [function] = [f.function_name for f in deployment.functions if f.handler.endswith(f".handle_{step}.lambda_handler")]
    return function


def _invoke(deployed: Deployed, step: str, state: dict[str, Any]) -> dict[str, Any]:
    sandbox, deployment = deployed
    response = sandbox.client("lambda").invoke(FunctionName=_function(deployment, step), Payload=json.dumps(state))
    payload: dict[str, Any] = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, payload
    return payload


def _delete(deployed: Deployed, bucket: str, key: str) -> None:
    s3 = deployed[0].client("s3")
    for version in s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", []):
        s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])


def test_a_rerun_collector_step_resumes_the_command_it_sent_and_sends_no_second(
        deployed: Deployed, collected: dict[str, dict[str, Any]]) -> None:
    ssm = deployed[0].client("ssm")
    instance_id = collected["StartLocate"]["target"]["instance_id"]
    sent = [entry["CommandId"] for entry in ssm.list_command_invocations(InstanceId=instance_id)["CommandInvocations"]]

    locate = _invoke(deployed, "start_locate", collected["StartLocate"])
    upload = _invoke(deployed, "start_upload", collected["StartUpload"])

    assert locate["command_id"] == collected["StartUpload"]["locate"]["command_id"]
    first_upload = collected["CompleteUpload"]["upload"]
    assert (upload["command_id"], upload["upload"]) == (first_upload["command_id"], first_upload["upload"])
    again = [entry["CommandId"] for entry in ssm.list_command_invocations(InstanceId=instance_id)["CommandInvocations"]]
    assert sorted(again) == sorted(sent) and len(sent) == 2  # one locate, one upload, nothing new


def test_abandoning_an_upload_whose_dump_never_completed_aborts_it(deployed: Deployed,
                                                                   collected: dict[str, dict[str, Any]]) -> None:
    state = collected["CompleteUpload"]  # the upload is planned, nothing is collected yet
    plan = state["upload"]["upload"]
    _delete(deployed, plan["bucket"], plan["dump_key"])
    abandoned = _invoke(deployed, "abandon_collection", state)
    # Reached the abort (a 403 on the HeadObject would have stopped it): aborted, or already gone because
    # this run's CompleteUpload had completed it; either way nothing was left uncleaned.
    assert re.search(r"multipart upload was (aborted|already gone)", abandoned["detail"]), abandoned
    assert abandoned["not_cleaned"] == []


def test_a_missing_locate_result_falls_back_to_the_command_output_which_lacks_the_manifest_key(
        deployed: Deployed, collected: dict[str, dict[str, Any]]) -> None:
    state = collected["StartUpload"]
    ssm = deployed[0].client("ssm")  # the stdout is read from SSM itself, never from the state
    stdout = ssm.get_command_invocation(CommandId=state["locate"]["command_id"],
                                        InstanceId=state["target"]["instance_id"])["StandardOutputContent"]
    assert "part_hash=" in stdout and "manifest_key=" not in stdout, "the key goes to S3 only"
    bucket = collected["CompleteUpload"]["upload"]["upload"]["bucket"]
    [locate_result] = [key for key in _keys(deployed, bucket, state) if key.endswith("collector/locate.result")]
    _delete(deployed, bucket, locate_result)
    # Without its stored plan, the step cannot resume the upload it sent: it plans anew, as a first attempt.
    _delete(deployed, bucket, locate_result.replace("locate.result", "upload.plan"))
    sandbox, deployment = deployed
    response = sandbox.client("lambda").invoke(FunctionName=_function(deployment, "start_upload"),
                                               Payload=json.dumps(state))
    error = json.loads(response["Payload"].read())
    # The missing object answered 404, not 403 (s3:ListBucket), so the stdout copy was read; without the key
    # no upload manifest can be issued, and the collection fails saying why.
    assert error["errorType"] == "CollectionFailed", error
    assert "holds no manifest key" in error["errorMessage"]


def _keys(deployed: Deployed, bucket: str, state: dict[str, Any]) -> list[str]:
    prefix = f"remediations/{state['target']['instance_id']}/"
    listed = deployed[0].client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return [item["Key"] for item in listed]
