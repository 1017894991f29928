"""checkov on the synthesized template: every failed check is fixed in infra/ or skipped on its resource
(infra.suppressions.skip_checkov, next to the resource's definition) for a specific reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from checkov_report import run_checkov
from plausible_arns import Resources
from stack_build import TEMPLATE_PATH
from suppression_reasons import is_vague

CHECKOV_METADATA = "checkov"  # infra.suppressions.CHECKOV_METADATA
# A bucket with nothing set, and a log group whose retention check is skipped but not its encryption.
BAD_TEMPLATE = {"Resources": {
    "Bucket": {"Type": "AWS::S3::Bucket"},
    "Logs": {"Type": "AWS::Logs::LogGroup", "Metadata": {CHECKOV_METADATA: {"skip": [
        {"id": "CKV_AWS_66", "comment": "A deliberately skipped check, to prove skips are read."}]}}},
}}

Report = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def reports(cloud_assembly: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, Report]:
    bad = tmp_path_factory.mktemp("checkov") / "bad.template.json"
    bad.write_text(json.dumps(BAD_TEMPLATE), encoding="utf-8")
    ours, theirs = run_checkov(TEMPLATE_PATH, bad)
    return ours, theirs


def _skips(resources: Resources) -> list[tuple[str, str, str]]:
    return [(logical_id, skip["id"], skip.get("comment", "")) for logical_id, resource in resources.items()
            for skip in resource.get("Metadata", {}).get(CHECKOV_METADATA, {}).get("skip", [])]


def _checks(report: Report, kind: str) -> set[tuple[str, str]]:
    return {(check["resource"].split(".", 1)[1], check["check_id"]) for check in report[kind]}


def test_checkov_reports_no_failed_check(reports: tuple[Report, Report]) -> None:
    ours, _ = reports
    assert ours["passed_checks"], "checkov passed nothing: did it read the template?"
    assert sorted(_checks(ours, "failed_checks")) == []


def test_every_skip_gives_a_specific_reason(resources: Resources) -> None:
    skips = _skips(resources)
    assert skips, "no checkov skips found: has infra.suppressions changed its metadata?"
    assert [(logical_id, check) for logical_id, check, reason in skips if is_vague(reason)] == []


def test_every_skip_is_of_a_check_that_ran_on_its_resource(resources: Resources,
                                                           reports: tuple[Report, Report]) -> None:
    # A mistyped check id, or one for another resource type, would skip nothing and hide nothing.
    ours, _ = reports
    assert {(logical_id, check) for logical_id, check, _ in _skips(resources)} == _checks(ours, "skipped_checks")


def test_the_check_is_live_on_a_bad_template(reports: tuple[Report, Report]) -> None:
    _, theirs = reports
    assert {("Bucket", "CKV_AWS_18"), ("Logs", "CKV_AWS_158")} <= _checks(theirs, "failed_checks")
    assert _checks(theirs, "skipped_checks") == {("Logs", "CKV_AWS_66")}
