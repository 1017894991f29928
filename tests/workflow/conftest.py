"""One sandbox with the synthesized stack deployed, shared by the workflow tests of this package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from panic_button_cli.sandbox_session import open_sandbox
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.sandbox import Sandbox
from tests.fleet_limits import clear_fleet_limits

TIME_SCALE = 200.0


@pytest.fixture(scope="package")
def deployed(sandbox_cdk_out: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Deployment]]:
    with open_sandbox(tmp_path_factory.mktemp("workflow-sandbox"), sandbox_cdk_out, TIME_SCALE) as opened:
        yield opened


@pytest.fixture(autouse=True)
def _fresh_rate_window(deployed: tuple[Sandbox, Deployment]) -> None:
    """Each test starts with an empty fleet window and a reset circuit breaker, so earlier tests' interrupts
    and alarms neither rate-limit it nor trip the breaker on it."""
    sandbox, deployment = deployed
    clear_fleet_limits(sandbox.client("dynamodb"), deployment.outputs["TableName"])
