"""Deployment configuration from cdk.json context, validated at synth time with errors that name the key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.config import CONTEXT_PREFIX, ConfigError, PanicButtonConfig, load_config
from infra.context_files import context_files

from .support import REPO


def key(name: str) -> str:
    return f"{CONTEXT_PREFIX}{name}"


def config_error(context: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(context)
    return str(caught.value)


class TestDefaults:
    def test_no_context_gives_the_documented_defaults(self) -> None:
        config = load_config({})

        assert (config.opt_in_tag_key, config.opt_in_tag_value) == ("PanicButton", "enabled")
        assert config.alarm_name_prefix == "panic-button-"
        assert config.cooldown_seconds == 6 * 3600
        assert config.rate_limit_per_hour == 5
        assert (config.breaker_alarms, config.breaker_window_seconds) == (20, 600)
        assert config.poll_interval_seconds == 30
        assert config.recovery_timeout_seconds == 20 * 60
        assert config.not_recovered_fallback == "none"
        assert config.evidence_retention_days == 30
        assert config.notification_emails == ()
        assert config.dry_run is False

    def test_the_checked_in_cdk_json_is_valid_and_matches_the_defaults(self) -> None:
        context = json.loads((REPO / "cdk.json").read_text())["context"]

        assert load_config(context) == PanicButtonConfig()

    def test_context_that_is_not_ours_is_ignored(self) -> None:
        assert load_config({"@aws-cdk/core:enablePartitionLiterals": True, "acknowledged-issue-numbers": [1]}) \
            == PanicButtonConfig()


class TestRejected:
    @pytest.mark.parametrize(("name", "value"), [
        ("stack-name", "1stack"), ("stack-name", "has space"),
        ("opt-in-tag-key", "aws:reserved"), ("opt-in-tag-key", ""), ("opt-in-tag-key", "k" * 129),
        ("opt-in-tag-value", "enabled\n"), ("opt-in-tag-value", "semi;colon"),
        ("alarm-name-prefix", ""), ("alarm-name-prefix", "has space"),
        ("cooldown-minutes", -1), ("cooldown-minutes", 7 * 24 * 60 + 1),
        ("rate-limit-per-hour", 0), ("rate-limit-per-hour", "many"),
        ("breaker-alarms", 0), ("breaker-window-minutes", 0), ("breaker-window-minutes", 24 * 60 + 1),
        ("poll-interval-seconds", 4), ("poll-interval-seconds", 601),
        ("recovery-timeout-minutes", 0), ("collection-timeout-minutes", 4), ("collection-timeout-minutes", 361),
        ("not-recovered-fallback", "terminate"),
        ("evidence-retention-days", 0), ("record-retention-days", 3651),
        ("notification-emails", "not-an-email"), ("notification-emails", ["ops@example.com", "nope"]),
        ("notification-emails", ["ops@example.com\n"]), ("notification-emails", 5), ("notification-emails", [1]),
        ("notification-emails", '["unterminated'),
        ("dry-run", "perhaps"), ("sandbox-collector-urls", "sometimes"),
        ("alarm-datapoints", 0), ("alarm-evaluation-periods", 1441), ("reconcile-schedule-minutes", 0),
        ("extra-instance-ids", "i-0ABC1234"), ("extra-instance-ids", ["i-0abc1234\n"]), ("extra-instance-ids", 7),
        ("extra-instance-ids", [12345678]),
        ("dump-reader-arns", ["arn:aws:iam::123456789012:user/alice"]), ("dump-reader-arns", ["*"]),
        ("dump-reader-arns", ["arn:aws:iam::12345:role/short-account"]),
    ])
    def test_a_bad_value_names_its_key(self, name: str, value: Any) -> None:
        message = config_error({key(name): value})

        assert key(name) in message

    def test_every_bad_value_is_reported_at_once(self) -> None:
        message = config_error({key("cooldown-minutes"): -1, key("rate-limit-per-hour"): 0})

        assert key("cooldown-minutes") in message
        assert key("rate-limit-per-hour") in message

    def test_more_datapoints_than_evaluation_periods_is_named(self) -> None:
        message = config_error({key("alarm-datapoints"): 5, key("alarm-evaluation-periods"): "3"})

        assert key("alarm-datapoints") in message
        assert "alarm-evaluation-periods" in message

    def test_an_unknown_key_is_rejected_and_the_known_keys_listed(self) -> None:
        message = config_error({key("cooldown-hours"): 6})

        assert "unknown key 'panic-button:cooldown-hours'" in message
        assert key("cooldown-minutes") in message


class TestEmails:
    @pytest.mark.parametrize("value", [
        ["ops@example.com", "oncall@example.org"],
        '["ops@example.com", "oncall@example.org"]',
        "ops@example.com,oncall@example.org",
        "ops@example.com, oncall@example.org",
        " ops@example.com ,oncall@example.org, ",
    ])
    def test_emails_come_as_a_list_a_json_string_or_a_comma_list(self, value: Any) -> None:
        config = load_config({key("notification-emails"): value})

        assert config.notification_emails == ("ops@example.com", "oncall@example.org")

    @pytest.mark.parametrize("value", ["", "[]", []])
    def test_no_emails(self, value: Any) -> None:
        assert load_config({key("notification-emails"): value}).notification_emails == ()


class TestDumpReaders:
    def test_role_arns_of_every_partition_are_accepted(self) -> None:
        arns = ["arn:aws:iam::123456789012:role/kernel-team", "arn:aws-us-gov:iam::123456789012:role/path/k"]
        assert load_config({key("dump-reader-arns"): arns}).dump_reader_arns == tuple(arns)


class TestExtraInstances:
    @pytest.mark.parametrize("value", [
        ["i-0abc1234", "i-0abc1234def567890"], '["i-0abc1234", "i-0abc1234def567890"]',
        "i-0abc1234, i-0abc1234def567890",
    ])
    def test_extra_instances_come_as_a_list_a_json_string_or_a_comma_list(self, value: Any) -> None:
        config = load_config({key("extra-instance-ids"): value})

        assert config.extra_instance_ids == ("i-0abc1234", "i-0abc1234def567890")


class TestValuesFromTheCommandLine:
    """`cdk deploy -c panic-button:cooldown-minutes=720` passes every value as a string."""

    def test_numbers_and_booleans_given_as_text_are_coerced(self) -> None:
        config = load_config({
            key("cooldown-minutes"): "720", key("rate-limit-per-hour"): "10", key("poll-interval-seconds"): "15",
            key("recovery-timeout-minutes"): "30", key("dry-run"): "true", key("not-recovered-fallback"): "reboot",
        })

        assert config.cooldown_seconds == 720 * 60
        assert config.rate_limit_per_hour == 10
        assert config.poll_interval_seconds == 15
        assert config.recovery_timeout_seconds == 30 * 60
        assert config.dry_run is True
        assert config.not_recovered_fallback == "reboot"

    @pytest.mark.parametrize(("text", "expected"), [("false", False), ("true", True), ("0", False), ("1", True)])
    def test_dry_run_text(self, text: str, expected: bool) -> None:
        assert load_config({key("dry-run"): text}).dry_run is expected

    def test_a_custom_tag_with_allowed_punctuation(self) -> None:
        config = load_config({key("opt-in-tag-key"): "team:ops/rescue", key("opt-in-tag-value"): "yes please"})

        assert (config.opt_in_tag_key, config.opt_in_tag_value) == ("team:ops/rescue", "yes please")


class TestSandboxCollectorUrls:
    def test_off_unless_asked_for_and_never_in_cdk_json(self) -> None:
        assert load_config({}).sandbox_collector_urls is False
        assert load_config({key("sandbox-collector-urls"): "true"}).sandbox_collector_urls is True  # -c gives text
        assert key("sandbox-collector-urls") not in json.loads((REPO / "cdk.json").read_text())["context"]


class TestWhereAValueCameFrom:
    """The CDK CLI merges cdk.json, cdk.context.json, ~/.cdk.json and -c: the error names the source."""

    FILES: dict[str, dict[str, Any]] = {"cdk.json": {key("cooldown-minutes"): -1, key("rate-limit-per-hour"): 5},
                                        "cdk.context.json": {}}

    def test_a_value_a_file_holds_is_named_after_that_file(self) -> None:
        with pytest.raises(ConfigError) as caught:
            load_config({key("cooldown-minutes"): -1}, self.FILES)

        assert f"{key('cooldown-minutes')} (from cdk.json):" in str(caught.value)
        assert "-c" not in str(caught.value)

    def test_a_value_no_file_holds_came_from_the_command_line(self) -> None:
        with pytest.raises(ConfigError) as caught:
            load_config({key("rate-limit-per-hour"): "0"}, self.FILES)

        assert f"{key('rate-limit-per-hour')} (from -c on the command line):" in str(caught.value)
        assert "cdk.json" not in str(caught.value)

    def test_an_unknown_key_names_its_source_too(self) -> None:
        with pytest.raises(ConfigError) as caught:
            load_config({key("cooldown-hours"): 6}, self.FILES)

        assert "unknown key 'panic-button:cooldown-hours' (from -c on the command line)" in str(caught.value)

    def test_the_files_are_read_as_the_cdk_cli_reads_them(self, tmp_path: Path) -> None:
        project, home = tmp_path / "project", tmp_path / "home"
        project.mkdir()
        home.mkdir()
        (project / "cdk.json").write_text(json.dumps({"app": "x", "context": {key("dry-run"): True}}))
        (project / "cdk.context.json").write_text(json.dumps({key("cooldown-minutes"): 5}))
        (home / ".cdk.json").write_text("not json")

        assert context_files(project, home) == {"cdk.json": {key("dry-run"): True},
                                                "cdk.context.json": {key("cooldown-minutes"): 5}, "~/.cdk.json": {}}
