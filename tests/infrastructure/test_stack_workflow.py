"""The state machine as deployed: observable (logs, traces), and every path ends in RecordOutcome."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Capture, Match, Template
from stack_template import Resources, output_ref, state_machine_definition

RECORD = "RecordOutcome"
# After RecordOutcome itself fails, the workflow publishes an alarm and fails: it cannot loop back.
LAST_RESORT = {RECORD, "NotifyRecordFailure"}
# What LambdaInvoke adds unless `retry_on_service_exceptions=False`: we want no Retry we did not write.
CDK_DEFAULT_LAMBDA_RETRY = {
    "ErrorEquals": sorted(["Lambda.ClientExecutionTimeoutException", "Lambda.ServiceException",
                           "Lambda.AWSLambdaException", "Lambda.SdkClientException"]),
    "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2,
}


@pytest.fixture(scope="module")
def states(template_json: dict[str, Any], resources: Resources) -> dict[str, dict[str, Any]]:
    definition = state_machine_definition(resources[output_ref(template_json, "StateMachineArn")])
    found: dict[str, dict[str, Any]] = definition["States"]
    return found


COMMAND_FALLBACK = ["CommandEnded", "States.Timeout"]


def _tasks(states: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: state for name, state in states.items() if state["Type"] == "Task"}


def _ends_in_record(states: dict[str, dict[str, Any]], name: str, seen: frozenset[str] = frozenset()) -> bool:
    """`name` is RecordOutcome, a Pass that leads there (DeniedOnTimeout), or a Task (the fallback) whose
    next state and catch-all both end there."""
    if name == RECORD:
        return True
    state = states[name]
    if state["Type"] == "Pass" and name not in seen:
        return _ends_in_record(states, state["Next"], seen | {name})
    if name in seen or state["Type"] != "Task" or "Next" not in state:
        return False
    catch_all = [c["Next"] for c in state.get("Catch", []) if "States.ALL" in c["ErrorEquals"]]
    return bool(catch_all) and all(_ends_in_record(states, n, seen | {name}) for n in [*catch_all, state["Next"]])


def test_state_machine_is_standard_traced_and_logs_everything_to_an_encrypted_log_group(
        template: Template, resources: Resources) -> None:
    log_group = Capture()
    template.has_resource_properties("AWS::StepFunctions::StateMachine", {
        "StateMachineType": "STANDARD",
        "TracingConfiguration": {"Enabled": True},
        "LoggingConfiguration": Match.object_like({
            "Level": "ALL",
            "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": [log_group, "Arn"]}}}],
        }),
    })
    key = resources[log_group.as_string()]["Properties"]["KmsKeyId"]["Fn::GetAtt"][0]
    assert resources[key]["Type"] == "AWS::KMS::Key"
    assert resources[key]["Properties"]["EnableKeyRotation"] is True


def test_every_task_catches_everything_into_record_outcome(states: dict[str, dict[str, Any]]) -> None:
    tasks = _tasks(states)
    assert len(tasks) >= 10, f"unexpectedly few Task states: {sorted(tasks)}"
    unrecorded = []
    for name, task in tasks.items():
        if name in LAST_RESORT:
            continue
        catchers = task.get("Catch", [])
        # Catchers are tried in order: States.ALL must come last or it hides the specific ones.
        if not catchers or catchers[-1]["ErrorEquals"] != ["States.ALL"]:
            unrecorded.append(f"{name}: no final States.ALL catcher")
            continue
        unrecorded += [f"{name}: {c['ErrorEquals']} -> {c['Next']}" for c in catchers
                       if c["ErrorEquals"] != COMMAND_FALLBACK and not _ends_in_record(states, c["Next"])]
    assert not unrecorded, "errors that do not end in RecordOutcome:\n" + "\n".join(unrecorded)


def test_a_command_wait_falls_back_to_its_poll_and_keeps_the_state(states: dict[str, dict[str, Any]]) -> None:
    # The end event came before the token (CommandEnded) or never (States.Timeout): the poll reads the command.
    routes = {name: (c["Next"], c["ResultPath"]) for name, task in _tasks(states).items()
              for c in task.get("Catch", []) if c["ErrorEquals"] == COMMAND_FALLBACK}
    assert routes == {"AwaitLocate": ("PollLocate", None), "AwaitUpload": ("PollUpload", None)}
    for phase in ("Locate", "Upload"):
        waiting = states[f"Await{phase}"]
        assert waiting["Resource"].endswith(":lambda:invoke.waitForTaskToken")
        assert waiting["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
        assert waiting["TimeoutSeconds"] == 300
        # Still running after the poll: wait one interval, then await the event again.
        choice = states[states[f"Poll{phase}"]["Next"]]
        assert states[choice["Default"]]["Type"] == "Wait" and states[choice["Default"]]["Next"] == f"Await{phase}"
        assert choice["Choices"][0]["Next"] == waiting["Next"]


def test_not_recovered_goes_through_the_fallback_before_recording(states: dict[str, dict[str, Any]]) -> None:
    fallback_routes = [(name, c["Next"]) for name, task in _tasks(states).items()
                       for c in task.get("Catch", []) if c["ErrorEquals"] == ["NotRecovered"]]
    assert fallback_routes == [("CheckRecovery", "ApplyFallback")]
    assert states["ApplyFallback"]["Next"] == RECORD


def test_record_outcome_retries_then_raises_the_alarm(states: dict[str, dict[str, Any]]) -> None:
    record = states[RECORD]
    assert record["Type"] == "Task"
    assert any(retry["MaxAttempts"] >= 2 for retry in record["Retry"])
    (catcher,) = record["Catch"]
    assert catcher["ErrorEquals"] == ["States.ALL"]
    alarm = states[catcher["Next"]]
    assert alarm["Resource"].endswith(":states:::sns:publish")
    assert states[alarm["Next"]]["Type"] == "Fail"


def test_no_task_keeps_the_cdk_default_lambda_retry(states: dict[str, dict[str, Any]]) -> None:
    defaults = [name for name, task in _tasks(states).items() for retry in task.get("Retry", [])
                if {**retry, "ErrorEquals": sorted(retry["ErrorEquals"])} == CDK_DEFAULT_LAMBDA_RETRY]
    assert defaults == [], "tasks with the CDK default service-exception retry"


def test_every_retry_backs_off_with_full_jitter(states: dict[str, dict[str, Any]]) -> None:
    retries = [(name, retry) for name, task in _tasks(states).items() for retry in task.get("Retry", [])]
    assert retries
    undamped = [name for name, retry in retries if retry.get("BackoffRate", 1) <= 1
                or retry.get("JitterStrategy") != "FULL"]
    assert not undamped, f"retries without backoff and full jitter: {undamped}"


def test_last_resort_notification_retries_transient_errors(states: dict[str, dict[str, Any]]) -> None:
    assert states["NotifyRecordFailure"].get("Retry"), "NotifyRecordFailure has no Retry"


def test_every_parameters_block_is_a_payload_template_object(states: dict[str, dict[str, Any]]) -> None:
    # LambdaInvoke(payload_response_only=True, payload=TaskInput.from_json_path_at("$")) renders
    # `"Parameters": "$"` (aws/aws-cdk#34260): ASL wants an object, so leave the payload out instead.
    not_objects = {name: state["Parameters"] for name, state in states.items()
                   if "Parameters" in state and not isinstance(state["Parameters"], dict)}
    assert not not_objects, f"Parameters that are not JSON objects: {not_objects}"
