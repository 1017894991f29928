"""The sandbox's server and process environment: free port, exported variables, clean shutdown."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from moto.core.config import default_user_config
from moto.ec2.responses import EC2Response

from panic_button_sandbox import Sandbox
from panic_button_sandbox.patches import Patches
from panic_button_sandbox.server import LocalAws


def test_server_exports_endpoint_region_and_fake_credentials_then_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "someone-real")
    monkeypatch.delenv("MOTO_PORT", raising=False)
    config_before = {key: dict(default_user_config[key]) for key in ("stepfunctions", "lambda")}  # type: ignore[literal-required]
    aws = LocalAws()
    aws.start()
    try:
        assert aws.port > 0
        assert os.environ["MOTO_PORT"] == str(aws.port)
        assert os.environ["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{aws.port}"
        assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"
        assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
        assert "AWS_PROFILE" not in os.environ
        assert default_user_config["stepfunctions"]["execute_state_machine"] is True
        assert default_user_config["lambda"]["use_docker"] is False
        client = aws.client("sqs")
        assert client is aws.client("sqs")
        assert client.meta.config.retries["mode"] == "standard"
        assert client.list_queues().get("QueueUrls", []) == []
    finally:
        aws.stop()
    assert "MOTO_PORT" not in os.environ
    assert os.environ["AWS_PROFILE"] == "someone-real"
    assert {key: default_user_config[key] for key in config_before} == config_before  # type: ignore[literal-required]


def test_one_sandbox_per_process_and_patches_undone(tmp_path: Path) -> None:
    with Sandbox(workdir=tmp_path / "one") as sandbox:
        assert hasattr(EC2Response, "send_diagnostic_interrupt")
        with pytest.raises(RuntimeError, match="already running"):
            Sandbox(workdir=tmp_path / "two").start()
        assert sandbox.endpoint_url.startswith("http://127.0.0.1:")
    assert not hasattr(EC2Response, "send_diagnostic_interrupt")


def test_time_scale_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="time_scale"):
        Sandbox(workdir=tmp_path, time_scale=0)


def test_patches_restore_inherited_and_own_attributes() -> None:
    class Base:
        def greet(self) -> str:
            return "base"

    class Child(Base):
        def own(self) -> str:
            return "own"

    patches = Patches()
    previous_greet = patches.replace(Child, "greet", lambda self: "patched")
    assert previous_greet(Child()) == "base"
    previous_own = patches.replace(Child, "own", lambda self: "patched own")
    assert Child().greet() == "patched" and Child().own() == "patched own"
    assert previous_own(Child()) == "own"
    patches.undo_all()
    assert Child().greet() == "base" and "greet" not in Child.__dict__
    assert Child().own() == "own"
