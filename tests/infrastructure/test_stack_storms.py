"""Storms as deployed: the summariser's schedule, its grants, the breaker's limits in the workflow steps'
environment, and the longer Retry of a throttled Lambda on every Lambda Task."""

from __future__ import annotations

from typing import Any

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

SUMMARISER = "handle_publish_storm_summaries"


def test_the_summariser_runs_every_minute(resources: Resources) -> None:
    function_id = function_by_handler(resources, SUMMARISER)
    rules = [rule["Properties"] for rule in of_type(resources, "AWS::Events::Rule").values()
             if any(ref_id(target["Arn"]) == function_id for target in rule["Properties"].get("Targets", []))]

    assert [rule["ScheduleExpression"] for rule in rules] == ["rate(1 minute)"]


def test_the_summariser_is_granted_exactly_what_it_uses(template_json: dict[str, Any], resources: Resources) -> None:
    role = role_of(resources, function_by_handler(resources, SUMMARISER))
    granted = {action: [render(r) for s in roles_granted(resources)[role] if action in s.actions
                        for r in s.resources]
               for s in roles_granted(resources)[role] for action in s.actions}
    table = f"${{{output_ref(template_json, 'TableName')}.Arn}}"

    assert {action for action, where in granted.items() if where == [table]} == {
        "dynamodb:Query", "dynamodb:GetItem", "dynamodb:UpdateItem"}
    assert granted["sns:Publish"] == [f"${{{output_ref(template_json, 'TopicArn')}}}"]
    assert {action.split(":")[0] for action in granted} == {"logs", "xray", "dynamodb", "kms", "sns"}


def test_the_breaker_limits_reach_the_guards_and_the_summariser(resources: Resources) -> None:
    for handler in ("handle_apply_guards", "handle_record_outcome", SUMMARISER):
        variables = resources[function_by_handler(resources, handler)]["Properties"]["Environment"]["Variables"]
        assert (variables["BREAKER_ALARMS"], variables["BREAKER_WINDOW_SECONDS"]) == ("20", "600")


def test_every_lambda_task_retries_a_throttled_invoke_longer_than_a_fault(resources: Resources) -> None:
    [machine] = of_type(resources, "AWS::StepFunctions::StateMachine").values()
    tasks = {name: state for name, state in state_machine_definition(machine)["States"].items()
             if state["Type"] == "Task" and "sns:publish" not in render(state["Resource"])}

    for name, state in tasks.items():
        [throttled] = [r for r in state["Retry"] if r["ErrorEquals"] == ["Lambda.TooManyRequestsException"]]
        assert throttled["MaxAttempts"] == 12 and throttled["MaxDelaySeconds"] == 60, name
    assert {"ApplyGuards", "RecordOutcome", "SendInterrupt"} <= set(tasks)
