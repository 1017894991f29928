"""The organization hub and member templates, read from cdk.out/organization (written by `make synth`; the test
session synthesizes it only when missing or stale), and the example settings they were built with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_CONTEXT = REPO / "infra" / "organization" / "example-context.json"
HUB, MEMBER = "PanicButton-Hub", "PanicButton-Member"


def read_template(folder: Path, stack: str) -> dict[str, Any]:
    template: dict[str, Any] = json.loads((folder / f"{stack}.template.json").read_text(encoding="utf-8"))
    return template


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {logical_id: resource for logical_id, resource in template["Resources"].items()
            if resource["Type"] == resource_type}
