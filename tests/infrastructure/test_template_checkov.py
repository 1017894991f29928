"""checkov on the synthesized template: every failed check is fixed in infra/ or skipped on its resource
(infra.suppressions.skip_checkov, next to the resource's definition) for a specific reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from checkov_report import run_checkov
from plausible_arns import Resources
from stack_build import TEMPLATE_PATH
from suppression_reasons import is_vague

from infra.suppressions import CHECKOV_METADATA

# A bucket with nothing set, and a log group whose retention check is skipped but not its encryption.
BAD_TEMPLATE = {"Resources": {
    "Bucket": {"Type": "AWS::S3::Bucket"},
    "Logs": {"Type": "AWS::Logs::LogGroup", "Metadata": {CHECKOV_METADATA: {"skip": [
        {"id": "CKV_AWS_66", "comment": "A deliberately skipped check, to prove skips are read."}]}}},
}}

Report = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class Reports:
    ours: Report
    unskipped: Report  # our template without its checkov skips
    bad: Report


@pytest.fixture(scope="module")
def reports(template_json: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Reports:
    folder = tmp_path_factory.mktemp("checkov")
    unskipped, bad = folder / "unskipped.template.json", folder / "bad.template.json"
    unskipped.write_text(json.dumps(_without_skips(template_json)), encoding="utf-8")
    bad.write_text(json.dumps(BAD_TEMPLATE), encoding="utf-8")
    return Reports(*run_checkov(TEMPLATE_PATH, unskipped, bad))


def _without_skips(template: dict[str, Any]) -> dict[str, Any]:
    resources = {logical_id: {**resource, "Metadata": {key: value for key, value in resource.get("Metadata", {}).items()
                                                       if key != CHECKOV_METADATA}}
                 for logical_id, resource in template["Resources"].items()}
    return {**template, "Resources": resources}


def _skips(resources: Resources) -> list[tuple[str, str, str]]:
    return [(logical_id, skip["id"], skip.get("comment", "")) for logical_id, resource in resources.items()
            for skip in resource.get("Metadata", {}).get(CHECKOV_METADATA, {}).get("skip", [])]


def _checks(report: Report, kind: str) -> set[tuple[str, str]]:
    return {(check["resource"].split(".", 1)[1], check["check_id"]) for check in report[kind]}


def test_checkov_reports_no_failed_check(reports: Reports) -> None:
    assert reports.ours["passed_checks"], "checkov passed nothing: did it read the template?"
    assert sorted(_checks(reports.ours, "failed_checks")) == []


def test_every_skip_gives_a_specific_reason(resources: Resources) -> None:
    skips = _skips(resources)
    assert skips, "no checkov skips found: has infra.suppressions changed its metadata?"
    assert [(logical_id, check) for logical_id, check, reason in skips if is_vague(reason)] == []


def test_every_skip_hides_a_failure_and_nothing_else(resources: Resources, reports: Reports) -> None:
    # Without its skips the template fails exactly the skipped checks: no skip is stale or mistyped.
    skips = {(logical_id, check) for logical_id, check, _ in _skips(resources)}
    assert _checks(reports.ours, "skipped_checks") == skips
    assert _checks(reports.unskipped, "failed_checks") == skips


def test_the_check_is_live_on_a_bad_template(reports: Reports) -> None:
    assert {("Bucket", "CKV_AWS_18"), ("Logs", "CKV_AWS_158")} <= _checks(reports.bad, "failed_checks")
    assert _checks(reports.bad, "skipped_checks") == {("Logs", "CKV_AWS_66")}
