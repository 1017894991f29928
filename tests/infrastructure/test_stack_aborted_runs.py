"""The aborted-run recorder as deployed: the rule that hears executions end outside the workflow, the one
function it wakes, and exactly the grants that function uses."""

from __future__ import annotations

from typing import Any

from panic_button.logic.aborted_run import GUARD_STATE, RECORD_STATES
from stack_template import (
    Resources,
    function_by_handler,
    of_type,
    output_ref,
    ref_id,
    render,
    role_of,
    roles_granted,
    state_machine_definition,
)

RECORDER = "handle_record_aborted_run"


def _recorder_rule(resources: Resources, function_id: str) -> dict[str, Any]:
    rules = [rule["Properties"] for rule in of_type(resources, "AWS::Events::Rule").values()
             if any(ref_id(target["Arn"]) == function_id for target in rule["Properties"].get("Targets", []))]
    assert len(rules) == 1
    return rules[0]


def test_the_rule_hears_only_this_state_machines_unrecorded_endings(
        template_json: dict[str, Any], resources: Resources) -> None:
    rule = _recorder_rule(resources, function_by_handler(resources, RECORDER))
    state_machine = output_ref(template_json, "StateMachineArn")
    # Exact: SUCCEEDED always ran RecordOutcome, and another state machine's endings are none of ours.
    assert rule["EventPattern"] == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"status": ["ABORTED", "TIMED_OUT", "FAILED"], "stateMachineArn": [{"Ref": state_machine}]},
    }
    (target,) = rule["Targets"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert resources[ref_id(target["DeadLetterConfig"]["Arn"])]["Type"] == "AWS::SQS::Queue"


def test_the_recorder_is_granted_exactly_what_it_uses(template_json: dict[str, Any], resources: Resources) -> None:
    role = role_of(resources, function_by_handler(resources, RECORDER))
    granted = {action: [render(r) for s in roles_granted(resources)[role] if action in s.actions
                        for r in s.resources]
               for s in roles_granted(resources)[role] for action in s.actions}
    state_machine = resources[output_ref(template_json, "StateMachineArn")]
    name = render({"Fn::GetAtt": [output_ref(template_json, "StateMachineArn"), "Name"]})
    assert state_machine["Type"] == "AWS::StepFunctions::StateMachine"
    assert granted["states:GetExecutionHistory"] == [
        f"arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:execution:{name}:*"]
    table = f"${{{output_ref(template_json, 'TableName')}.Arn}}"
    evidence = f"${{{output_ref(template_json, 'EvidenceBucketName')}.Arn}}/remediations/*"
    assert {action for action, where in granted.items() if where == [table]} == {
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"}
    assert {action for action, where in granted.items() if where == [evidence]} == {
        "s3:GetObject", "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectTagging"}
    # Creates only (the condition is checked in test_stack_iam), at the write-once keys only: their URLs used up.
    assert sorted(granted["s3:PutObject"]) == [f"{evidence}/collector/*.log", f"{evidence}/collector/*.result",
                                               f"{evidence}/dump/vmcore-dmesg.txt"]
    # Every version of a manifest goes (a noncurrent one still serves its URLs): listed under the prefix only
    bucket = f"${{{output_ref(template_json, 'EvidenceBucketName')}.Arn}}"
    assert granted["s3:ListBucketVersions"] == [bucket]
    assert granted["s3:ListBucket"] == [bucket]  # S3 tells a missing key (404) from a denied one (403)
    assert granted["sns:Publish"] == [f"${{{output_ref(template_json, 'TopicArn')}}}"]
    assert granted["ssm:CancelCommand"] == ["*"]  # it can only stop a command (no ARN to scope it to)
    (target,) = _recorder_rule(resources, function_by_handler(resources, RECORDER))["Targets"]
    assert granted["sqs:SendMessage"] == [f"${{{ref_id(target['DeadLetterConfig']['Arn'])}.Arn}}"]
    assert {action.split(":")[0] for action in granted} == {"logs", "xray", "ssm", "states", "dynamodb", "kms",
                                                           "sns", "s3", "sqs"}
    assert len(granted) == 24  # nothing beyond the statements checked here and the logs, X-Ray and key grants


def test_an_ending_the_recorder_itself_failed_on_lands_in_its_dead_letter_queue(resources: Resources) -> None:
    function_id = function_by_handler(resources, RECORDER)
    (target,) = _recorder_rule(resources, function_id)["Targets"]
    [config] = [c["Properties"] for c in of_type(resources, "AWS::Lambda::EventInvokeConfig").values()
                if ref_id(c["Properties"]["FunctionName"]) == function_id]
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == target["DeadLetterConfig"]["Arn"]


def test_the_workflow_has_a_timeout_for_the_recorder_to_name(
        template_json: dict[str, Any], resources: Resources) -> None:
    definition = state_machine_definition(resources[output_ref(template_json, "StateMachineArn")])
    # cdk.json defaults: 20 min recovery + 2 x 60 min collection + 60 min approval wait + 30 min margin
    assert definition["TimeoutSeconds"] == (20 + 120 + 60 + 30) * 60
    recorder = resources[function_by_handler(resources, RECORDER)]
    variables = recorder["Properties"]["Environment"]["Variables"]
    assert variables["WORKFLOW_TIMEOUT_SECONDS"] == str((20 + 120 + 60 + 30) * 60)
    # The recorder keys its "decided already" rule on these state names.
    assert {*RECORD_STATES, GUARD_STATE} <= set(definition["States"])
