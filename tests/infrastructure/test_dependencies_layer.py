"""The Lambdas' libraries ship in the stack's own layer, built from requirements-lambda.txt's wheels: the
versions the sandbox runs, for Lambda's Python 3.14 on x86_64, and no account-owned layer ARN, so one
template deploys in the aws, aws-cn and aws-us-gov partitions alike."""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

from infra.wheel_assets import pinned_wheels

REPO = Path(__file__).resolve().parents[2]
LAYER_REQUIREMENTS = REPO / "requirements-lambda.txt"


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        spec = line.split("#", 1)[0].strip()
        if "==" in spec:
            name, _, pinned = spec.partition("==")
            pins[re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()] = pinned
    return pins


def test_the_layer_pins_are_the_versions_the_tests_run() -> None:
    layer = _pins(LAYER_REQUIREMENTS)
    assert {name: pinned for name, pinned in layer.items() if version(name) != pinned} == {}
    shared = _pins(REPO / "requirements.txt")
    assert {name: pinned for name, pinned in layer.items() if name in shared and shared[name] != pinned} == {}
    assert {"aws-lambda-powertools", "pydantic", "pydantic-core"} <= set(layer)


def test_the_layer_asset_holds_every_pinned_wheel_built_for_lambdas_python(cdk_out: Path) -> None:
    template = json.loads((cdk_out / "PanicButton.template.json").read_text())
    [layer] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"]
    asset = cdk_out / layer["Metadata"]["aws:asset:path"] / "python"
    wheels = pinned_wheels(LAYER_REQUIREMENTS, REPO / ".cache" / "layer-wheels")
    assert len(wheels) == len(_pins(LAYER_REQUIREMENTS))
    assert all((asset / f"{w.name.split('-')[0]}-{w.name.split('-')[1]}.dist-info").is_dir() for w in wheels)
    assert list((asset / "pydantic_core").glob("_pydantic_core.cpython-314-x86_64-linux-gnu.so"))


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [value] if isinstance(value, str) else []


def test_no_template_names_a_partition_or_a_foreign_account(cdk_out: Path, organization_out: Path) -> None:
    # One template for every partition: ARNs are built from AWS::Partition, hosts from AWS::URLSuffix.
    templates = [cdk_out / "PanicButton.template.json", *sorted(organization_out.glob("*.template.json"))]
    for path in templates:
        texts = _strings(json.loads(path.read_text())["Resources"])
        assert [t for t in texts if re.search(r"arn:aws(-cn|-us-gov)?:", t)] == [], path.name
        assert [t for t in texts if "017000801446" in t] == [], path.name  # the public Powertools layer's
