"""One sandbox with the synthesized stack deployed, shared by the readiness tests of this package, and
simulated instance roots for running the readiness script directly."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from panic_button_cli.sandbox_session import open_sandbox
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.sandbox import Sandbox

# Readiness waits on no workflow: a mild scale keeps the document's 120 s timeout at 12 s on a busy machine.
TIME_SCALE = 10.0
SHELLS = [name for name in ("dash", "bash") if shutil.which(name)]


@pytest.fixture(scope="package")
def deployed(sandbox_cdk_out: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Deployment]]:
    with open_sandbox(tmp_path_factory.mktemp("readiness-sandbox"), sandbox_cdk_out, TIME_SCALE) as opened:
        yield opened


@pytest.fixture(params=SHELLS)
def shell(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name
