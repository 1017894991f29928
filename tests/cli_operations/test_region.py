"""Which Region the operations commands use: --region, then AWS_REGION, then AWS_DEFAULT_REGION, then the
profile's region, as the AWS CLI documents. The session-wide conftest sets both variables; each test here
sets exactly the ones it is about. With no stack deployed, the error names the Region that was asked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from panic_button_cli.main import main
from panic_button_cli.operations.arguments import resolve_region

COMMANDS = [["history"], ["start", "i-0123456789abcdef0"], ["follow", "i-0123456789abcdef0"], ["readiness"]]


@pytest.fixture
def no_region(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield monkeypatch


def _asked_region(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main([*argv, "--stack", "Absent"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: stack 'Absent' not found in "), err
    return err.removeprefix("error: stack 'Absent' not found in ").split(";")[0]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda argv: argv[0])
def test_aws_region_alone_is_honoured(no_region: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                      command: list[str]) -> None:
    no_region.setenv("AWS_REGION", "eu-west-1")

    assert _asked_region(capsys, *command) == "eu-west-1"


def test_aws_default_region_alone_is_honoured(no_region: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    no_region.setenv("AWS_DEFAULT_REGION", "ap-south-1")

    assert _asked_region(capsys, "history") == "ap-south-1"


def test_aws_region_wins_over_aws_default_region(no_region: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    no_region.setenv("AWS_REGION", "eu-west-1")
    no_region.setenv("AWS_DEFAULT_REGION", "ap-south-1")

    assert _asked_region(capsys, "history") == "eu-west-1"


def test_the_flag_wins_over_both_variables(no_region: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    no_region.setenv("AWS_REGION", "eu-west-1")
    no_region.setenv("AWS_DEFAULT_REGION", "ap-south-1")

    assert _asked_region(capsys, "history", "--region", "sa-east-1") == "sa-east-1"


def test_the_profile_region_comes_last(no_region: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path) -> None:
    config = tmp_path / "config"
    # A named profile brings its own credentials: the environment's are not used for it.
    config.write_text("[profile ops]\nregion = ca-central-1\naws_access_key_id = testing\n"
                      "aws_secret_access_key = testing\n")
    no_region.setenv("AWS_CONFIG_FILE", str(config))

    assert _asked_region(capsys, "history", "--profile", "ops") == "ca-central-1"
    no_region.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert _asked_region(capsys, "history", "--profile", "ops") == "ap-south-1"


def test_no_region_anywhere_names_both_fixes(no_region: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history"]) == 2

    assert capsys.readouterr().err == "error: no AWS region configured; pass --region or set AWS_REGION\n"


def test_a_pasted_execution_arn_brings_its_region() -> None:
    arn = "arn:aws:states:eu-north-1:123456789012:execution:Remediation:i-0123456789abcdef0-20240501T120007Z"

    assert resolve_region(None, arn, {"AWS_REGION": "eu-west-1"}) == "eu-north-1"
    assert resolve_region("us-west-2", arn, {}) == "us-west-2"
    assert resolve_region(None, "i-0123456789abcdef0", {"AWS_REGION": "", "AWS_DEFAULT_REGION": "us-west-2"}) \
        == "us-west-2"
