"""Configuration reaches the template: the variant stack (conftest.VARIANT_CONTEXT) turns on the reboot
fallback and email subscriptions and renames the tag and prefix; invalid context stops `cdk synth`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Match
from cdk_nag import AwsSolutionsChecks
from stack_build import REPO_ROOT, VARIANT_CONTEXT, Variant, cdk_json_context
from stack_template import function_by_handler, output_ref, policy_statements, role_of, roles_granted

INSTANCES = "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*"
TAG_KEY = VARIANT_CONTEXT["panic-button:opt-in-tag-key"]
# Both values opt in: the approval value (default "approval") asks a person first.
TAG_VALUE = [VARIANT_CONTEXT["panic-button:opt-in-tag-value"], "approval"]


def _resources(variant: Variant) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = variant.template_json["Resources"]
    return resources


def test_reboot_fallback_lets_only_the_fallback_step_reboot_opted_in_instances(variant: Variant) -> None:
    resources = _resources(variant)
    fallback = role_of(resources, function_by_handler(resources, "handle_apply_fallback"))
    rebooters = {role: [s for s in statements if s.covers("ec2:RebootInstances")]
                 for role, statements in roles_granted(resources).items()}
    rebooters = {role: statements for role, statements in rebooters.items() if statements}
    assert list(rebooters) == [fallback]
    for statement in rebooters[fallback]:
        assert statement.resources == [INSTANCES]
        assert statement.conditions == {"StringEquals": {f"aws:ResourceTag/{TAG_KEY}": TAG_VALUE}}


def test_every_tag_condition_uses_the_configured_opt_in_tag(variant: Variant) -> None:
    tag_conditions = {key: value for s in policy_statements(_resources(variant))
                      for operator in s.conditions.values() for key, value in operator.items()
                      if key.lower().startswith(("aws:resourcetag/", "ssm:resourcetag/"))}
    assert tag_conditions == {f"aws:ResourceTag/{TAG_KEY}": TAG_VALUE, f"ssm:resourceTag/{TAG_KEY}": TAG_VALUE}


def test_notification_emails_subscribe_to_the_outcome_topic(variant: Variant) -> None:
    topic = output_ref(variant.template_json, "TopicArn")
    emails = VARIANT_CONTEXT["panic-button:notification-emails"]
    variant.template.resource_count_is("AWS::SNS::Subscription", len(emails))
    for email in emails:
        variant.template.has_resource_properties("AWS::SNS::Subscription", {
            "Protocol": "email", "Endpoint": email, "TopicArn": {"Ref": topic},
        })


def test_alarm_prefix_and_evidence_retention_come_from_configuration(variant: Variant) -> None:
    prefix = VARIANT_CONTEXT["panic-button:alarm-name-prefix"]
    variant.template.has_resource_properties("AWS::Events::Rule", {
        "EventPattern": Match.object_like({"detail": Match.object_like({"alarmName": [{"prefix": prefix}]})}),
    })
    variant.template.has_resource_properties("AWS::S3::Bucket", {
        "LifecycleConfiguration": {"Rules": Match.array_with([Match.object_like({
            "ExpirationInDays": VARIANT_CONTEXT["panic-button:evidence-retention-days"],
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        })])},
    })


def test_variant_has_no_unacknowledged_cdk_nag_finding(variant: Variant) -> None:
    # The reboot grant and the subscriptions exist only here, so cdk.out's report does not cover them.
    report = AwsSolutionsChecks().validate_scope(variant.app)
    assert [(v.rule_name, [r.construct_path for r in v.violating_resources]) for v in report.violations] == []
    assert report.success


def test_invalid_context_stops_synth_with_a_message_naming_the_key(tmp_path: Path) -> None:
    # The CDK CLI hands merged context to the app in CDK_CONTEXT_JSON: do the same, with one bad value.
    context = {**cdk_json_context(), "panic-button:evidence-retention-days": 0}
    environment = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "app.py"], cwd=REPO_ROOT, env=environment, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode != 0
    assert result.stderr.startswith("panic-button: "), result.stderr
    assert "panic-button:evidence-retention-days" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.template.json"))


def test_a_bad_value_given_with_c_is_named_as_coming_from_the_command_line(tmp_path: Path) -> None:
    context = {**cdk_json_context(), "panic-button:rate-limit-per-hour": "0"}  # -c passes text
    environment = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "app.py"], cwd=REPO_ROOT, env=environment, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode != 0
    assert "panic-button:rate-limit-per-hour (from -c on the command line): " in result.stderr, result.stderr
    assert "greater than or equal to 1" in result.stderr
    assert "Traceback" not in result.stderr
