"""A sandbox per test module, and a cdk.out built from the hand-written fixture template."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_support import HANDLER_SOURCE, STACK_NAME, build_cdk_out

from panic_button_sandbox import Deployment, Sandbox

TIME_SCALE = 1000.0  # a 300 s Wait state takes 0.3 s; a 60 s reboot 60 ms

# The fixture handlers are importable the way lambdas/ is for the real app.
sys.path.insert(0, str(HANDLER_SOURCE))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(workdir=tmp_path_factory.mktemp("sandbox"), time_scale=TIME_SCALE) as running:
        yield running


@pytest.fixture(scope="module")
def fixture_cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_cdk_out(tmp_path_factory.mktemp("cdk") / "cdk.out")


@pytest.fixture(scope="module")
def deployment(sandbox: Sandbox, fixture_cdk_out: Path) -> Deployment:
    return sandbox.deploy(fixture_cdk_out, stack_name=STACK_NAME)
