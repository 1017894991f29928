"""How the world reaches the stack: the alarm rule that starts the workflow, the SSM documents that run on
instances, and the outputs operators use."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk.assertions import Capture, Match, Template
from stack_template import Resources, of_type, output_ref, policy_statements, ref_id

OPERATOR_OUTPUTS = {
    "StateMachineArn": "AWS::StepFunctions::StateMachine",
    "EvidenceBucketName": "AWS::S3::Bucket",
    "TableName": "AWS::DynamoDB::Table",
    "TopicArn": "AWS::SNS::Topic",
}
# Parameter values are pasted into single-quoted script assignments: none of these may pass a pattern.
HOSTILE_VALUES = ["'", "locate'", "upload'; shutdown -h now; echo '", "3600'\n", "locate\nreboot",
                  "https://bucket.s3.example.test/dump?X-Amz-Signature=1'$(id)'"]
PLUGIN_BY_PLATFORM = {"Linux": "aws:runShellScript", "Windows": "aws:runPowerShellScript"}


@pytest.fixture(scope="module")
def documents(resources: Resources) -> dict[str, dict[str, Any]]:
    return {logical_id: document["Properties"]
            for logical_id, document in of_type(resources, "AWS::SSM::Document").items()}


@pytest.fixture(scope="module")
def workflow_rule(template_json: dict[str, Any], resources: Resources) -> str:
    """Logical ID of the one rule whose target is the state machine (other rules serve the alarm manager)."""
    state_machine = {"Ref": output_ref(template_json, "StateMachineArn")}
    starters = [logical_id for logical_id, rule in of_type(resources, "AWS::Events::Rule").items()
                if any(target["Arn"] == state_machine for target in rule["Properties"].get("Targets", []))]
    assert len(starters) == 1, f"expected one rule to start the workflow, found {starters}"
    return starters[0]


def test_operator_outputs_point_at_the_right_resources(
        template: Template, template_json: dict[str, Any], resources: Resources) -> None:
    for output, resource_type in OPERATOR_OUTPUTS.items():
        template.has_output(output, {"Value": {"Ref": Match.any_value()}})
        assert resources[output_ref(template_json, output)]["Type"] == resource_type, output


def test_alarm_rule_matches_only_panic_button_alarms_entering_alarm(
        template: Template, template_json: dict[str, Any], resources: Resources, workflow_rule: str) -> None:
    retries, queue = Capture(), Capture()
    template.has_resource_properties("AWS::Events::Rule", {
        # Exact pattern: an extra key or a looser operator would start remediations nobody asked for.
        "EventPattern": {
            "source": ["aws.cloudwatch"],
            "detail-type": ["CloudWatch Alarm State Change"],
            "detail": {"alarmName": [{"prefix": "panic-button-"}], "state": {"value": ["ALARM"]}},
        },
        "State": "ENABLED",
        "Targets": [Match.object_like({
            "Arn": {"Ref": output_ref(template_json, "StateMachineArn")},
            "RetryPolicy": Match.object_like({"MaximumRetryAttempts": retries}),
            "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [queue, "Arn"]}},
        })],
    })
    assert retries.as_number() >= 1
    assert resources[workflow_rule]["Properties"]["Targets"][0]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0] \
        == queue.as_string()
    key = ref_id(resources[queue.as_string()]["Properties"]["KmsMasterKeyId"])
    assert resources[key]["Type"] == "AWS::KMS::Key"
    assert resources[key]["Properties"]["EnableKeyRotation"] is True


def test_dead_letter_queue_takes_messages_only_from_the_rule_and_only_over_tls(
        resources: Resources, workflow_rule: str) -> None:
    (target,) = resources[workflow_rule]["Properties"]["Targets"]
    queue = ref_id(target["DeadLetterConfig"]["Arn"])
    statements = [s for s in policy_statements(resources) if s.owner_type == "AWS::SQS::QueuePolicy"
                  and {"Ref": queue} in resources[s.owner]["Properties"]["Queues"]]
    assert any(s.body["Effect"] == "Deny" and s.conditions == {"Bool": {"aws:SecureTransport": "false"}}
               for s in statements)
    senders = [s for s in statements if s.allows]
    assert [s.body["Principal"] for s in senders] == [{"Service": "events.amazonaws.com"}]
    assert senders[0].actions == ["sqs:SendMessage"]
    assert ref_id(senders[0].conditions["ArnEquals"]["aws:SourceArn"]) == workflow_rule


def test_the_rule_may_start_only_this_state_machine(
        template_json: dict[str, Any], resources: Resources, workflow_rule: str) -> None:
    (target,) = resources[workflow_rule]["Properties"]["Targets"]
    role = ref_id(target["RoleArn"])
    grants = [s for s in policy_statements(resources) if s.owner_type == "AWS::IAM::Policy"
              and {"Ref": role} in resources[s.owner]["Properties"]["Roles"]]
    assert [(s.actions, s.resources) for s in grants] == [
        (["states:StartExecution"], [f"${{{output_ref(template_json, 'StateMachineArn')}}}"])]


def test_collector_documents_are_schema_2_2_commands_one_per_platform(
        documents: dict[str, dict[str, Any]]) -> None:
    platforms = {}
    for logical_id, document in documents.items():
        assert document["DocumentType"] == "Command", logical_id
        assert document["Content"]["schemaVersion"] == "2.2", logical_id
        for step in document["Content"]["mainSteps"]:
            platform = step["precondition"]["StringEquals"][1]
            assert step["action"] == PLUGIN_BY_PLATFORM[platform], logical_id
            platforms[platform] = logical_id
    assert set(platforms) == set(PLUGIN_BY_PLATFORM)


_PSEUDO = {"AWS::Region": "eu-west-1", "AWS::URLSuffix": "amazonaws.com"}


def _resolved(value: Any) -> str:
    """A pattern as CloudFormation resolves it (ManifestUrl's joins the bucket, Region and URL suffix in), with
    any Ref to a resource standing for a bucket named after it."""
    if isinstance(value, str):
        return value
    [(function, argument)] = value.items()
    if function == "Ref":
        return _PSEUDO.get(argument, f"{argument.lower()}-bucket")
    if function == "Fn::Join":
        delimiter, parts = argument
        items = _split(parts) if isinstance(parts, dict) else [_resolved(part) for part in parts]
        return str(delimiter).join(items)
    raise AssertionError(f"unexpected {function} in a document pattern")


def _split(value: dict[str, Any]) -> list[str]:
    [(function, (delimiter, source))] = value.items()
    assert function == "Fn::Split"
    return _resolved(source).split(delimiter)


def test_the_manifest_url_pattern_names_the_stack_bucket_on_its_regional_endpoint(
        documents: dict[str, dict[str, Any]]) -> None:
    patterns = {_resolved(document["Content"]["parameters"]["ManifestUrl"]["allowedPattern"])
                for document in documents.values() if "ManifestUrl" in document["Content"].get("parameters", {})}
    [pattern] = patterns  # both collectors
    [bucket] = re.findall(r"\^https://([a-z0-9-]+-bucket)\\\.s3", pattern)
    url = f"https://{bucket}.s3.eu-west-1.amazonaws.com/remediations/i-0/e/collector/upload.manifest?X-Amz-Signature=ab"
    assert re.search(pattern, url)
    assert not re.search(pattern, url.replace(bucket, "another-bucket"))
    assert not re.search(pattern, url.replace("eu-west-1", "us-east-1"))
    assert not re.search(pattern, f"http://127.0.0.1:4566/{bucket}/remediations/k?X-Amz-Signature=ab")


def test_every_document_parameter_has_an_anchored_pattern_that_rejects_injection(
        documents: dict[str, dict[str, Any]], template_json: dict[str, Any]) -> None:
    readiness = output_ref(template_json, "ReadinessDocument")  # read-only checks: takes no input at all
    for logical_id, document in documents.items():
        parameters = document["Content"].get("parameters", {})
        assert bool(parameters) == (logical_id != readiness), f"{logical_id}: parameters {sorted(parameters)}"
        for name, spec in parameters.items():
            pattern = _resolved(spec.get("allowedPattern", ""))
            assert pattern.startswith("^") and pattern.endswith("$"), f"{logical_id}.{name}: {pattern!r}"
            if "default" in spec:
                assert re.fullmatch(pattern, spec["default"]), f"{logical_id}.{name} rejects its own default"
            accepted = [value for value in HOSTILE_VALUES if re.search(pattern, value)]
            assert accepted == [], f"{logical_id}.{name} accepts {accepted}"
