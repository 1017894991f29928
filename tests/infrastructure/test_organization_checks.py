"""The gates of `cdk synth` on the organization hub and member templates: cdk-nag with every finding fixed or
acknowledged for a specific reason, cfn-lint silent, checkov with no failed check, parliament with no unaccepted
finding (the bus policy included, which policy_documents leaves out)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from checkov_report import run_checkov
from organization_templates import HUB, MEMBER, of_type
from parliament_findings import analyze
from plausible_arns import resolve
from policy_documents import PolicyDocument, policy_documents
from suppression_reasons import is_vague

ACK_METADATA = "aws:cdk:acknowledged-rules"


def test_cdk_nag_reports_no_unacknowledged_finding_in_either_stack(organization_out: Path) -> None:
    report_path = organization_out / "validation-report.json"
    assert report_path.is_file(), "cdk.out/organization has no validation-report.json: is AwsSolutionsChecks on?"
    report = json.loads(report_path.read_text(encoding="utf-8"))
    failing = [(v["ruleName"], [c["constructPath"] for c in v["violatingConstructs"]])
               for plugin in report["pluginReports"] for v in plugin["violations"]]
    assert failing == []
    assert [plugin["pluginName"] for plugin in report["pluginReports"] if plugin["conclusion"] != "success"] == []


@pytest.mark.parametrize("stack", [HUB, MEMBER])
def test_every_acknowledgement_is_specific_and_scoped(organization_out: Path, stack: str) -> None:
    metadata: dict[str, list[dict[str, Any]]] = json.loads(
        (organization_out / f"{stack}.metadata.json").read_text(encoding="utf-8"))
    acknowledgements = [(path, rule.split("::", 1)[-1], reason)
                        for path, entries in metadata.items() for entry in entries if entry["type"] == ACK_METADATA
                        for rule, reason in entry["data"].items()]
    assert acknowledgements, "no acknowledgements: has the metadata format changed?"
    assert [(path, rule) for path, rule, reason in acknowledgements if is_vague(reason)] == []
    assert [(path, rule) for path, rule, _ in acknowledgements if path.count("/") < 2 or "[Action::" in rule] == []


def test_cfn_lint_has_nothing_to_say_on_either_template(organization_out: Path) -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    templates = [str(organization_out / f"{stack}.template.json") for stack in (HUB, MEMBER)]
    result = subprocess.run([str(cfn_lint), *templates], cwd=organization_out.parents[1], capture_output=True,
                            text=True, timeout=300, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_checkov_fails_no_check_on_either_template(organization_out: Path) -> None:
    hub_report, member_report = run_checkov(organization_out / f"{HUB}.template.json",
                                            organization_out / f"{MEMBER}.template.json")
    for report in (hub_report, member_report):
        assert report["passed_checks"], "checkov passed nothing: did it read the template?"
    failed = [(check["resource"], check["check_id"]) for report in (hub_report, member_report)
              for check in report["failed_checks"]]
    assert failed == []


def _bus_policies(template: dict[str, Any]) -> list[PolicyDocument]:
    resources = template["Resources"]
    return [PolicyDocument(logical_id, resource["Type"], resolve(
        {"Version": "2012-10-17", "Statement": [resource["Properties"]["Statement"]]}, resources))
        for logical_id, resource in of_type(template, "AWS::Events::EventBusPolicy").items()]


@pytest.mark.parametrize("stack", [HUB, MEMBER])
def test_parliament_reports_no_unaccepted_finding(stack: str, hub: dict[str, Any], member: dict[str, Any]) -> None:
    template = hub if stack == HUB else member
    documents = [*policy_documents(template["Resources"]), *_bus_policies(template)]
    assert any(document.owner_type == "AWS::IAM::Policy" for document in documents)
    unaccepted = [(d.owner, f.issue, sorted(f.actions)) for d in documents for f in analyze(d)
                  if not any(f.accepted_by(acceptance) for acceptance in d.acceptances)]
    assert unaccepted == []
    if stack == HUB:
        assert [d.owner_type for d in documents].count("AWS::Events::EventBusPolicy") == 1
