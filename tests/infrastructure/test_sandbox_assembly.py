"""The sandbox deploys cdk.out/sandbox, not the deployable cdk.out: the proof holds for the product only if the
two differ in nothing but what the sandbox needs, the collector documents' ManifestUrl pattern admitting
http://127.0.0.1 (and the document names, which hash their content)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STACK = "PanicButton.template.json"


def _documents(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: resource for name, resource in template["Resources"].items()
            if resource["Type"] == "AWS::SSM::Document"
            and "ManifestUrl" in resource["Properties"]["Content"].get("parameters", {})}


def _pattern(resource: dict[str, Any]) -> str:
    return json.dumps(resource["Properties"]["Content"]["parameters"]["ManifestUrl"]["allowedPattern"])


def test_the_sandbox_assembly_differs_only_in_the_collector_url_pattern(cdk_out: Path, sandbox_cdk_out: Path) -> None:
    product = json.loads((cdk_out / STACK).read_text())
    sandbox = json.loads((sandbox_cdk_out / STACK).read_text())
    documents = _documents(product)
    assert sorted(documents) == sorted(_documents(sandbox)) and len(documents) == 2

    for name, resource in documents.items():
        assert "127" not in _pattern(resource)  # the deployable stack: its bucket on its Region's S3 only
        assert r"http://127\\.0\\.0\\.1:" in _pattern(sandbox["Resources"][name])
        sandbox["Resources"][name] = resource  # with the product's document, nothing else may differ
    assert sandbox == product
