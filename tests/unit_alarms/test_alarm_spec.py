"""Alarm names, tags and settings: the pure rules, checked without AWS."""

from __future__ import annotations

import pytest
from panic_button.logic.alarms.spec import (
    MANAGED_TAG_KEY,
    MAX_ALARM_NAME,
    Instance,
    alarm_name,
    alarm_tags,
    build_spec,
    drifted_fields,
    sanitize_name_part,
)
from pydantic import ValidationError

from tests.unit_alarms.conftest import PREFIX, settings

INSTANCE = "i-0123456789abcdef0"


@pytest.mark.parametrize(("name_tag", "expected"), [
    ("web server 1", "web-server-1"),
    ("  db/primary (eu) ", "db-primary-eu"),
    ("ünïcode_ok.v2", "n-code_ok.v2"),
    ("***", ""),
])
def test_name_tag_is_reduced_to_safe_characters(name_tag: str, expected: str) -> None:
    assert sanitize_name_part(name_tag) == expected


def test_name_is_prefix_and_instance_then_readable_name() -> None:
    assert alarm_name(PREFIX, INSTANCE, "api") == f"{PREFIX}{INSTANCE}-api"
    assert alarm_name(PREFIX, INSTANCE, None) == f"{PREFIX}{INSTANCE}"
    assert alarm_name(PREFIX, INSTANCE, "%%%") == f"{PREFIX}{INSTANCE}"


def test_long_names_are_cut_to_cloudwatch_limit_keeping_prefix_and_instance() -> None:
    long_prefix = "p" * 64
    name = alarm_name(long_prefix, INSTANCE, "x" * 300)
    assert len(name) == MAX_ALARM_NAME
    assert name.startswith(f"{long_prefix}{INSTANCE}-x")


def test_cut_never_ends_in_a_dash() -> None:
    base = f"{PREFIX}{INSTANCE}-"
    room = MAX_ALARM_NAME - len(base)
    name = alarm_name(PREFIX, INSTANCE, "a" * (room - 1) + " b")
    assert not name.endswith("-") and len(name) <= MAX_ALARM_NAME


def test_tags_skip_aws_keys_and_characters_cloudwatch_rejects_and_add_the_marker() -> None:
    tags = alarm_tags({"aws:cloudformation:stack-name": "s", "Name": "web #1", "team": "a", "owner": "b@c.d"})
    assert tags == {"team": "a", "owner": "b@c.d", MANAGED_TAG_KEY: "true"}


def test_tags_stay_within_fifty_keeping_name_first() -> None:
    many = {f"k{i:03}": "v" for i in range(80)} | {"Name": "n"}
    tags = alarm_tags(many)
    assert len(tags) == 50
    assert "Name" in tags and tags[MANAGED_TAG_KEY] == "true"
    assert [k for k in tags if k.startswith("k")] == [f"k{i:03}" for i in range(48)]


def test_an_instance_tag_cannot_fake_the_marker() -> None:
    assert alarm_tags({MANAGED_TAG_KEY: "false"}) == {MANAGED_TAG_KEY: "true"}


def test_spec_uses_configured_m_of_n_and_detects_drift() -> None:
    config = settings(ALARM_DATAPOINTS="2", ALARM_EVALUATION_PERIODS="5")
    spec = build_spec(Instance(INSTANCE, "running", {"Name": "a"}, "m5.large"), config)
    assert "2 of 5 minutes" in spec.description
    described = {"AlarmName": spec.name, "AlarmDescription": spec.description, "ActionsEnabled": True,
                 "AlarmActions": [], "OKActions": [], "InsufficientDataActions": [],
                 "MetricName": "StatusCheckFailed_Instance", "Namespace": "AWS/EC2", "Statistic": "Maximum",
                 "Dimensions": [{"Name": "InstanceId", "Value": INSTANCE}], "Period": 60, "EvaluationPeriods": 5,
                 "DatapointsToAlarm": 2, "Threshold": 1.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                 "TreatMissingData": "missing"}
    assert drifted_fields(described, spec, config) == []
    tag_changed = build_spec(Instance(INSTANCE, "running", {"Name": "a", "team": "x"}, "m5.large"), config)
    assert drifted_fields(described, tag_changed, config) == ["AlarmDescription"]
    assert drifted_fields({**described, "AlarmActions": ["arn:aws:sns:us-east-1:1:t"]}, spec, config) == [
        "AlarmActions"]


@pytest.mark.parametrize("overrides", [
    {"ALARM_DATAPOINTS": "4", "ALARM_EVALUATION_PERIODS": "3"},
    {"ALARM_EVALUATION_PERIODS": "0"},
    {"EXTRA_INSTANCE_IDS": "i-0123456789abcdef0,web-1"},
    {"ALARM_NAME_PREFIX": "bad prefix"},
])
def test_settings_reject_bad_values(overrides: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        settings(**overrides)


def test_extra_instance_ids_are_a_comma_list() -> None:
    config = settings(EXTRA_INSTANCE_IDS=" i-0123456789abcdef0 , i-01234567,")
    assert config.extra_instance_ids == {"i-0123456789abcdef0", "i-01234567"}
