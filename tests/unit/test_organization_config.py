"""The Organizations settings: single-account stays the default, organization mode names every missing or bad
setting, and the names the hub and member agree on follow the data-residency choice."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import CONTEXT_PREFIX, ConfigError, load_config
from infra.organization.context_flags import context_flags
from infra.organization.names import hub_bus_arn, hub_role_arns, member_role_name

from .support import REPO

EXAMPLE = REPO / "infra" / "organization" / "example-context.json"


def organization(**overrides: Any) -> dict[str, Any]:
    context: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return {**context, **{CONTEXT_PREFIX + name.replace("_", "-"): value for name, value in overrides.items()}}


def test_single_account_is_the_default() -> None:
    config = load_config({})
    assert (config.mode, config.hub_regions, config.target_ous) == ("single", "in-region", ())


def test_the_example_settings_make_an_organization() -> None:
    config = load_config(organization())
    assert (config.mode, config.hub_account, config.stackset_region) == ("organization", "111111111111", "eu-west-1")
    assert config.target_ous == ("ou-ab12-cdef3456", "ou-ab12-99990000")


@pytest.mark.parametrize(("override", "named"), [
    ({"organization_id": ""}, "organization-id"),
    ({"organization_id": "o-UPPER"}, "organization-id"),
    ({"hub_account": "12345"}, "hub-account"),
    ({"target_ous": []}, "target-ous"),
    ({"target_ous": ["ou-nope"]}, "target-ous"),
    ({"member_regions": "Europe"}, "member-regions"),
    ({"hub_regions": "everywhere"}, "hub-regions"),
    ({"stack_name": "PanicButtonForTheWholeOrganization"}, "stack-name"),
])
def test_organization_mode_names_the_bad_setting(override: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(organization(**override))
    assert "panic-button:mode" in str(caught.value) and named in str(caught.value)


def test_organization_settings_are_ignored_in_single_mode() -> None:
    assert load_config({CONTEXT_PREFIX + "target-ous": "ou-nope"}).mode == "single"


def test_a_central_hub_serves_every_region_from_its_own() -> None:
    config = load_config(organization(hub_regions="eu-central-1"))
    assert config.stackset_region == "eu-central-1"
    assert hub_bus_arn(config).split(":")[3] == "eu-central-1"
    assert {arn.rsplit("-", 3)[-3:] == ["eu", "central", "1"] for arn in hub_role_arns(config)} == {True}
    assert member_role_name(config, "us-east-1") == "PanicButton-Member-us-east-1"


def test_context_flags_are_what_the_cdk_cli_takes() -> None:
    flags = context_flags(EXAMPLE)
    assert flags[flags.index("panic-button:mode=organization") - 1] == "-c"
    assert "panic-button:member-regions=eu-west-1,us-east-1" in flags
    assert load_config(dict(flag.split("=", 1) for flag in flags[1::2])).member_regions == ("eu-west-1", "us-east-1")
