"""Step 1: an alarm event or a manual input becomes one validated target, or REJECTED_INVALID_INPUT."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from panic_button.errors import InvalidInput
from panic_button.logic.targets import resolve_target
from panic_button.outcomes import Outcome

from .support import NOW


def sample_instance(event: dict[str, Any]) -> str:
    return str(event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["InstanceId"])


def metric(metric_id: str, dimensions: dict[str, str], *, return_data: bool) -> dict[str, Any]:
    return {
        "id": metric_id,
        "metricStat": {"metric": {"namespace": "AWS/EC2", "name": "StatusCheckFailed_Instance",
                                  "dimensions": dimensions}, "period": 60, "stat": "Maximum"},
        "returnData": return_data,
    }


def with_metrics(event: dict[str, Any], metrics: list[dict[str, Any]]) -> dict[str, Any]:
    variant = copy.deepcopy(event)
    variant["detail"]["configuration"]["metrics"] = metrics
    return variant


def rejected(raw: Any, *, dry_run_default: bool = False) -> str:
    with pytest.raises(InvalidInput) as caught:
        resolve_target(raw, now=NOW, dry_run_default=dry_run_default)
    assert caught.value.outcome is Outcome.REJECTED_INVALID_INPUT
    return str(caught.value)


class TestAlarmEvent:
    @pytest.mark.parametrize("dry_run_default", [False, True])
    def test_the_sample_event_names_its_instance(self, alarm_event: dict[str, Any], dry_run_default: bool) -> None:
        target = resolve_target(alarm_event, now=NOW, dry_run_default=dry_run_default)

        assert target.instance_id == sample_instance(alarm_event)
        assert target.trigger == "alarm"
        assert target.alarm_name == alarm_event["detail"]["alarmName"]
        assert target.dry_run is dry_run_default
        assert target.requested_at == NOW
        assert alarm_event["detail"]["state"]["reason"] in target.reason

    def test_metric_math_alarm_finds_the_instance_on_a_metric_that_returns_no_data(
            self, alarm_event: dict[str, Any]) -> None:
        instance_id = sample_instance(alarm_event)
        expression = {"id": "e1", "expression": "MAX(METRICS())", "label": "worst", "returnData": True}
        event = with_metrics(alarm_event, [expression, metric("m1", {"InstanceId": instance_id}, return_data=False)])

        assert resolve_target(event, now=NOW, dry_run_default=False).instance_id == instance_id

    def test_several_metrics_on_the_same_instance_are_one_target(self, alarm_event: dict[str, Any]) -> None:
        instance_id = sample_instance(alarm_event)
        event = with_metrics(alarm_event, [metric("m1", {"InstanceId": instance_id}, return_data=False),
                                           metric("m2", {"InstanceId": instance_id}, return_data=False)])

        assert resolve_target(event, now=NOW, dry_run_default=False).instance_id == instance_id

    def test_two_different_instances_are_rejected_naming_both(self, alarm_event: dict[str, Any]) -> None:
        first, second = sample_instance(alarm_event), "i-0fedcba9876543210"
        event = with_metrics(alarm_event, [metric("m1", {"InstanceId": first}, return_data=False),
                                           metric("m2", {"InstanceId": second}, return_data=False)])

        message = rejected(event)

        assert first in message
        assert second in message

    def test_composite_alarm_is_rejected(self, alarm_event: dict[str, Any]) -> None:
        event = copy.deepcopy(alarm_event)
        event["detail"]["configuration"] = {"alarmRule": "ALARM(panic-button-a) OR ALARM(panic-button-b)"}

        assert "composite" in rejected(event)

    @pytest.mark.parametrize("state", ["OK", "INSUFFICIENT_DATA"])
    def test_an_alarm_not_in_alarm_state_is_rejected(self, alarm_event: dict[str, Any], state: str) -> None:
        event = copy.deepcopy(alarm_event)
        event["detail"]["state"]["value"] = state

        assert state in rejected(event)

    def test_an_alarm_without_instance_dimension_is_rejected(self, alarm_event: dict[str, Any]) -> None:
        event = with_metrics(alarm_event, [metric("m1", {"AutoScalingGroupName": "web"}, return_data=True)])

        assert "no InstanceId" in rejected(event)

    def test_an_alarm_without_metrics_is_rejected(self, alarm_event: dict[str, Any]) -> None:
        assert "no InstanceId" in rejected(with_metrics(alarm_event, []))

    @pytest.mark.parametrize("bad_id", ["i-xyz", "i-0ABC1234DEF567890", "0abc1234def567890", "i-0abc1234def56789"])
    def test_an_invalid_instance_id_in_the_dimension_is_rejected(self, alarm_event: dict[str, Any],
                                                                 bad_id: str) -> None:
        event = with_metrics(alarm_event, [metric("m1", {"InstanceId": bad_id}, return_data=True)])

        assert bad_id in rejected(event)

    def test_an_event_from_another_source_is_rejected(self, alarm_event: dict[str, Any]) -> None:
        event = {**copy.deepcopy(alarm_event), "source": "aws.ec2", "detail-type": "EC2 Instance State-change"}

        assert "not a CloudWatch alarm state change" in rejected(event)

    def test_a_malformed_event_is_rejected_naming_the_field(self, alarm_event: dict[str, Any]) -> None:
        event = copy.deepcopy(alarm_event)
        del event["detail"]["alarmName"]

        assert "alarmName" in rejected(event)

    def test_a_long_alarm_reason_is_cut_to_the_record_limit(self, alarm_event: dict[str, Any]) -> None:
        event = copy.deepcopy(alarm_event)
        event["detail"]["state"]["reason"] = "x" * 2000

        target = resolve_target(event, now=NOW, dry_run_default=False)

        assert len(target.reason) == 500
        assert target.reason.startswith(f"alarm {event['detail']['alarmName']}: ")


class TestWhereTheInstanceLives:
    """The target names the account and Region its instance lives in: an organization hub rescues there."""

    def test_an_alarm_event_names_its_account_and_region(self, alarm_event: dict[str, Any]) -> None:
        event = {**alarm_event, "account": "222222222222", "region": "eu-west-1"}
        target = resolve_target(event, now=NOW, dry_run_default=False)

        assert (target.account, target.region) == ("222222222222", "eu-west-1")

    def test_a_manual_request_may_name_an_account_and_region(self) -> None:
        target = resolve_target({"instance_id": "i-0abc1234", "account": "222222222222", "region": "us-east-1"},
                                now=NOW, dry_run_default=False)

        assert (target.account, target.region) == ("222222222222", "us-east-1")

    def test_a_manual_request_without_them_means_this_account_and_region(self) -> None:
        target = resolve_target({"instance_id": "i-0abc1234"}, now=NOW, dry_run_default=False)

        assert (target.account, target.region) == (None, None)

    @pytest.mark.parametrize(("field", "value", "problem"), [
        ("account", "12345678901", "not an account ID"), ("account", "22222222222a", "not an account ID"),
        ("region", "EU-WEST-1", "not a Region name"), ("region", "eu-west-1\n", "not a Region name"),
    ])
    def test_a_malformed_account_or_region_is_rejected(self, field: str, value: str, problem: str) -> None:
        assert problem in rejected({"instance_id": "i-0abc1234", field: value})

    def test_an_alarm_event_from_a_malformed_account_is_rejected(self, alarm_event: dict[str, Any]) -> None:
        assert "not an account ID" in rejected({**alarm_event, "account": "hub"})


class TestManualInput:
    @pytest.mark.parametrize("instance_id", ["i-0abc1234def567890", "i-0abc1234"])
    def test_a_valid_request_becomes_a_manual_target(self, instance_id: str) -> None:
        target = resolve_target({"instance_id": instance_id, "reason": "hung since 03:00"}, now=NOW,
                                dry_run_default=False)

        assert (target.instance_id, target.reason, target.trigger) == (instance_id, "hung since 03:00", "manual")
        assert target.alarm_name is None
        assert target.requested_at == NOW

    def test_the_reason_has_a_default(self) -> None:
        target = resolve_target({"instance_id": "i-0abc1234"}, now=NOW, dry_run_default=False)

        assert target.reason

    @pytest.mark.parametrize(
        "instance_id",
        ["i-0ABC1234DEF567890", "i-0abc123", "i-0abc1234d", "i-0abc1234def5678901", "i-0abc1234\n", "0abc1234", ""],
    )
    def test_a_malformed_instance_id_is_rejected(self, instance_id: str) -> None:
        assert "not an instance ID" in rejected({"instance_id": instance_id})

    def test_an_instance_id_that_is_not_text_is_rejected(self) -> None:
        assert "instance_id" in rejected({"instance_id": 12345678})

    def test_an_extra_field_is_rejected_naming_it(self) -> None:
        assert "force" in rejected({"instance_id": "i-0abc1234", "force": True})

    def test_a_reason_over_500_characters_is_rejected(self) -> None:
        assert "reason" in rejected({"instance_id": "i-0abc1234", "reason": "r" * 501})

    def test_an_input_near_the_step_functions_limit_is_refused_with_a_bounded_excerpt(self) -> None:
        message = rejected({"instance_id": "i-0abc1234", "reason": "ok", "padding": "p" * 250_000})

        assert message.startswith("input is over the 32 KiB a trigger may be; the input (250,055 bytes) began:")
        assert message.endswith('began: {"instance_id":"i-0abc1234","reason":"ok","padding":"' + "p" * 147 + "...")
        assert len(message) < 400

    def test_an_input_of_exactly_32_kib_is_judged_by_its_fields_not_its_size(self) -> None:
        padding = 32 * 1024 - len('{"instance_id":"i-0abc1234","reason":""}')

        message = rejected({"instance_id": "i-0abc1234", "reason": "r" * padding})

        assert message.startswith("manual input rejected: reason:")

    def test_a_reason_of_500_characters_is_accepted(self) -> None:
        target = resolve_target({"instance_id": "i-0abc1234", "reason": "r" * 500}, now=NOW, dry_run_default=False)

        assert len(target.reason) == 500

    @pytest.mark.parametrize(("requested", "default", "expected"), [
        (None, False, False), (None, True, True), (True, False, True), (False, True, False),
    ])
    def test_dry_run_per_execution_overrides_the_configured_default(self, requested: bool | None, default: bool,
                                                                    expected: bool) -> None:
        raw: dict[str, Any] = {"instance_id": "i-0abc1234"}
        if requested is not None:
            raw["dry_run"] = requested

        assert resolve_target(raw, now=NOW, dry_run_default=default).dry_run is expected


@pytest.mark.parametrize("raw", [None, "i-0abc1234", ["i-0abc1234"], {}, {"instance": "i-0abc1234"}])
def test_input_that_is_neither_event_nor_manual_request_is_rejected(raw: Any) -> None:
    assert "neither" in rejected(raw)
