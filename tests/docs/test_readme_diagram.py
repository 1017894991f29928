"""The README's workflow picture is generated from the synthesized definition and must not drift from it."""

from __future__ import annotations

import json
from pathlib import Path

from panic_button_cli.workflow_diagram import definition_from_template, mermaid, readme_block

REPO = Path(__file__).resolve().parents[2]


def test_the_readme_shows_the_current_state_machine(cdk_out: Path) -> None:
    readme = (REPO / "README.md").read_text()
    assert readme_block(cdk_out / "PanicButton.template.json") in readme, "run `make docs` to redraw the diagram"


def test_every_state_and_edge_of_the_definition_is_drawn(cdk_out: Path) -> None:
    definition = definition_from_template(json.loads((cdk_out / "PanicButton.template.json").read_text()))
    drawn = mermaid(definition)
    for name, state in definition["States"].items():
        node = "".join(ch for ch in name if ch.isalnum())
        assert f"    {node}[" in drawn or f"    {node}{{" in drawn or f"    {node}(" in drawn, name
        if "Next" in state:
            assert f"{node} --> {''.join(ch for ch in state['Next'] if ch.isalnum())}" in drawn, name
    assert "NotRecovered| ApplyFallback" in drawn


def test_a_compound_choice_is_drawn_as_its_conditions() -> None:
    choice = {"Type": "Choice", "Default": "B", "Choices": [{"Next": "A", "And": [
        {"Variable": "$.instance.approval_required", "BooleanEquals": True},
        {"Variable": "$.guard.dry_run", "BooleanEquals": False}]}]}
    drawn = mermaid({"StartAt": "Ask", "States": {"Ask": choice, "A": {"Type": "Succeed"}, "B": {"Type": "Succeed"}}})
    assert "Ask -->|instance.approval_required = true and guard.dry_run = false| A" in drawn
