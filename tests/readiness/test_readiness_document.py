"""The readiness document in the synthesized template (cdk.out, as `make synth` leaves it): read-only
scripts, one step per platform under the names the CLI reads, and no parameter without an allowedPattern."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.ssm.readiness_document import build_readiness_document, readiness_script_lines
from panic_button_cli.operations.readiness_checks import READINESS_STEPS


@pytest.fixture(scope="module")
def template(cdk_out: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((cdk_out / "PanicButton.template.json").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def document(template: dict[str, Any]) -> dict[str, Any]:
    logical_id = template["Outputs"]["ReadinessDocument"]["Value"]["Ref"]
    resource = template["Resources"][logical_id]
    assert resource["Type"] == "AWS::SSM::Document"
    assert resource["Properties"]["DocumentType"] == "Command"
    content: dict[str, Any] = resource["Properties"]["Content"]
    return content


def test_template_holds_the_document_built_from_the_scripts(document: dict[str, Any]) -> None:
    assert document == build_readiness_document()
    assert document["schemaVersion"] == "2.2"
    steps = {step["precondition"]["StringEquals"][1]: step for step in document["mainSteps"]}
    assert steps["Linux"]["action"] == "aws:runShellScript"
    assert steps["Windows"]["action"] == "aws:runPowerShellScript"
    assert steps["Linux"]["inputs"]["runCommand"] == readiness_script_lines("readiness.sh")
    assert steps["Windows"]["inputs"]["runCommand"] == readiness_script_lines("readiness.ps1")
    assert not steps["Linux"]["inputs"]["runCommand"][0].startswith("#!")


def test_step_names_are_the_ones_the_cli_reads(document: dict[str, Any]) -> None:
    names = {step["precondition"]["StringEquals"][1]: step["name"] for step in document["mainSteps"]}
    assert names == READINESS_STEPS


def test_every_parameter_has_an_allowed_pattern(document: dict[str, Any]) -> None:
    parameters: dict[str, dict[str, Any]] = document.get("parameters", {})
    assert [name for name, spec in parameters.items() if "allowedPattern" not in spec] == []
    # No parameter at all today: nothing a caller passes can reach the scripts.
    assert parameters == {}
    assert all("{{" not in line for step in document["mainSteps"] for line in step["inputs"]["runCommand"])

