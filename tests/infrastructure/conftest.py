"""Fixtures for the infrastructure tests.

The default stack is read from cdk.out (written by `make synth`, which `make test` runs first), so the
session never synthesizes it again. The configuration variant is built in-process, once per session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template
from organization_templates import EXAMPLE_CONTEXT, HUB, MEMBER, read_template
from stack_build import TEMPLATE_PATH, Variant, build_variant


@pytest.fixture(scope="session")
def cloud_assembly(cdk_out: Path) -> Path:
    """cdk.out as the session's one synthesis left it (tests/conftest.py re-synthesizes it only if stale)."""
    return cdk_out


@pytest.fixture(scope="session")
def template_json(cloud_assembly: Path) -> dict[str, Any]:
    template: dict[str, Any] = json.loads(TEMPLATE_PATH.read_text(encoding="utf-8"))
    return template


@pytest.fixture(scope="session")
def template(template_json: dict[str, Any]) -> Template:
    return Template.from_json(template_json)


@pytest.fixture(scope="session")
def resources(template_json: dict[str, Any]) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = template_json["Resources"]
    return resources


@pytest.fixture(scope="session")
def variant() -> Variant:
    return build_variant()


@pytest.fixture(scope="session")
def example_settings() -> dict[str, Any]:
    """The organization settings cdk.out/organization was synthesized with."""
    settings: dict[str, Any] = json.loads(EXAMPLE_CONTEXT.read_text(encoding="utf-8"))
    return settings


@pytest.fixture(scope="session")
def hub(organization_out: Path) -> dict[str, Any]:
    return read_template(organization_out, HUB)


@pytest.fixture(scope="session")
def member(organization_out: Path) -> dict[str, Any]:
    return read_template(organization_out, MEMBER)
