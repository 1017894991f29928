"""The gates of `cdk synth`: cdk-nag (AwsSolutions) with every finding fixed or acknowledged for a stated
reason, and cfn-lint with nothing to say."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from suppression_reasons import is_vague

ACK_METADATA = "aws:cdk:acknowledged-rules"


@pytest.fixture(scope="module")
def acknowledgements(cloud_assembly: Path) -> list[tuple[str, str, str]]:
    """(construct path, rule, reason) of every `Validations.of(...).acknowledge(...)` in the stack."""
    metadata: dict[str, list[dict[str, Any]]] = json.loads(
        (cloud_assembly / "PanicButton.metadata.json").read_text(encoding="utf-8"))
    return [(path, rule.split("::", 1)[-1], reason)
            for path, entries in metadata.items() for entry in entries if entry["type"] == ACK_METADATA
            for rule, reason in entry["data"].items()]


def test_cdk_nag_reports_no_unacknowledged_finding(cloud_assembly: Path) -> None:
    report_path = cloud_assembly / "validation-report.json"
    # CDK writes this report only when a validation plugin is registered: a missing report means app.py
    # no longer adds AwsSolutionsChecks, or the synth that wrote the template did not finish.
    assert report_path.is_file(), "cdk.out has no validation-report.json: is AwsSolutionsChecks registered?"
    assert report_path.stat().st_mtime >= (cloud_assembly / "PanicButton.template.json").stat().st_mtime, \
        "validation-report.json is older than the template: run `make synth`"
    report = json.loads(report_path.read_text(encoding="utf-8"))
    # A plugin with success, no violations and nothing acknowledged at CDK level is left out of the
    # report (cdk-nag applies acknowledgements itself), so a clean run lists no plugin at all.
    failing = {plugin["pluginName"]: [(v["ruleName"], [c["constructPath"] for c in v["violatingConstructs"]])
                                      for v in plugin["violations"]]
               for plugin in report["pluginReports"]
               if plugin["conclusion"] != "success" or plugin["violations"]}
    assert failing == {}


def test_every_acknowledgement_gives_a_specific_reason(acknowledgements: list[tuple[str, str, str]]) -> None:
    assert acknowledgements, "no acknowledgements found: has the metadata format changed?"
    vague = [(path, rule, reason) for path, rule, reason in acknowledgements if is_vague(reason)]
    assert vague == []


def test_acknowledgements_name_one_finding_on_one_resource(acknowledgements: list[tuple[str, str, str]]) -> None:
    stack_wide = [(path, rule) for path, rule, _ in acknowledgements if path.count("/") < 2]
    assert stack_wide == [], "acknowledge findings on the construct that causes them, not the stack or app"
    # An IAM5 acknowledgement must name the wildcard it accepts, e.g. IAM5[Resource::<Logs.Arn>:*].
    unscoped = [(path, rule) for path, rule, _ in acknowledgements
                if rule.startswith("AwsSolutions-IAM5") and "[" not in rule]
    assert unscoped == []


def test_no_acknowledgement_accepts_a_wildcard_action(acknowledgements: list[tuple[str, str, str]]) -> None:
    assert [(path, rule) for path, rule, _ in acknowledgements if "[Action::" in rule] == []


def test_cfn_lint_has_nothing_to_say(cloud_assembly: Path) -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    # Run from the repository root so cfn-lint picks up .cfnlintrc.yaml.
    result = subprocess.run([str(cfn_lint), str(cloud_assembly / "PanicButton.template.json")],
                            cwd=cloud_assembly.parent, capture_output=True, text=True, timeout=300, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
