"""The README lists every stack output, and only outputs the stack has."""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def readme_outputs(readme: str) -> set[str]:
    """The names in the first column of the README's `| output | what it is |` table."""
    table = readme.split("| output | what it is |", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in table.splitlines()[2:] if line.startswith("|")]
    return {name for row in rows for name in re.findall(r"`([A-Za-z]+)`", row.split("|")[1])}


def test_the_readme_lists_exactly_the_template_outputs(cdk_out: Path) -> None:
    outputs = set(json.loads((cdk_out / "PanicButton.template.json").read_text())["Outputs"])
    listed = readme_outputs((REPO / "README.md").read_text())
    assert listed == outputs, f"missing from the README: {outputs - listed}; not in the stack: {listed - outputs}"
