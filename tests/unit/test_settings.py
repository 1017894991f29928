"""Runtime settings from the environment the stack gives every Lambda."""

from __future__ import annotations

import pytest
from panic_button.settings import ENV_NAMES, Settings, get_settings
from pydantic import ValidationError

from tests.settings_environment import ENVIRONMENT

APPROVAL = {"APPROVAL_TAG_VALUE": "approval", "APPROVAL_TIMEOUT_SECONDS": "3600",
            "APPROVAL_HEARTBEAT_SECONDS": "900", "APPROVAL_ON_TIMEOUT": "deny"}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    return dict(ENVIRONMENT)


def test_the_stack_environment_is_read_and_typed(environment: dict[str, str]) -> None:
    settings = get_settings()

    assert settings.table_name == "remediations"
    assert settings.cooldown_seconds == 21600
    assert settings.dry_run_default is False
    assert settings.not_recovered_fallback == "none"
    assert settings.evidence_prefix == "remediations"


def test_every_variable_the_settings_read_is_listed() -> None:
    # Optional ones: the evidence prefix, TriageDump's dump limit (only that function is given it) and the
    # workflow timeout (only the aborted-run recorder), the approval settings (defaults: no wait counted) and
    # the members' document names and the guard scope (only an organization hub sets them), and TriageDump's
    # debuginfod servers (empty: the bucket's symbols only).
    assert set(ENV_NAMES) == set(ENVIRONMENT) | {"EVIDENCE_PREFIX", "ANALYSIS_MAX_DUMP_BYTES",
                                                          "WORKFLOW_TIMEOUT_SECONDS", *APPROVAL,
                                                          "MEMBER_LINUX_DOCUMENT", "MEMBER_WINDOWS_DOCUMENT",
                                                          "GUARD_SCOPE", "DEBUGINFOD_URLS"}


def test_the_lock_outlives_the_approval_wait(environment: dict[str, str]) -> None:
    waiting = Settings.model_validate({**environment, **APPROVAL}).lock_lifetime_seconds
    assert waiting == get_settings().lock_lifetime_seconds + 3600


def test_the_analysis_dump_limit_defaults_to_what_lambdas_default_storage_holds(
        environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_settings().analysis_max_dump_bytes == 400 * 1024 * 1024
    monkeypatch.setenv("ANALYSIS_MAX_DUMP_BYTES", str(1024**3))
    assert get_settings().analysis_max_dump_bytes == 1024**3


@pytest.mark.parametrize("missing", sorted(ENVIRONMENT))
def test_a_missing_variable_is_named(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                     missing: str) -> None:
    monkeypatch.delenv(missing)

    with pytest.raises(ValidationError, match=missing):
        get_settings()


@pytest.mark.parametrize(("name", "value"), [
    ("NOT_RECOVERED_FALLBACK", "terminate"), ("RATE_LIMIT_PER_HOUR", "0"), ("COOLDOWN_SECONDS", "-1"),
    ("POLL_INTERVAL_SECONDS", "thirty"), ("DRY_RUN_DEFAULT", "perhaps"),
])
def test_a_bad_value_is_named(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch, name: str,
                              value: str) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError, match=name):
        get_settings()


def test_a_changed_environment_gives_new_settings(environment: dict[str, str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    first = get_settings()
    monkeypatch.setenv("DRY_RUN_DEFAULT", "true")

    assert get_settings().dry_run_default is True
    assert first.dry_run_default is False


@pytest.mark.parametrize(("timeout", "interval", "polls"), [(1200, 30, 40), (1201, 30, 41), (10, 30, 1)])
def test_polls_cover_the_whole_timeout(timeout: int, interval: int, polls: int) -> None:
    settings = Settings.model_validate({**ENVIRONMENT, "RECOVERY_TIMEOUT_SECONDS": str(timeout),
                                        "COLLECTION_TIMEOUT_SECONDS": str(timeout),
                                        "POLL_INTERVAL_SECONDS": str(interval)})

    assert settings.max_collection_polls == polls
    assert settings.max_collection_polls * interval >= timeout


def test_a_lock_outlives_a_whole_remediation() -> None:
    settings = Settings.model_validate(ENVIRONMENT)

    assert settings.lock_lifetime_seconds > settings.recovery_timeout_seconds + 2 * settings.collection_timeout_seconds
