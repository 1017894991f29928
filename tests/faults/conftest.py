"""One sandbox with the synthesized stack, shared by the fault tests; each test starts without faults."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from panic_button_cli.sandbox_session import open_sandbox
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.faults.spec import FaultSpec
from panic_button_sandbox.sandbox import Sandbox
from tests.fleet_limits import clear_fleet_limits

TIME_SCALE = 200.0
Deployed = tuple[Sandbox, Deployment]


@pytest.fixture(scope="package")
def deployed(sandbox_cdk_out: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    with open_sandbox(tmp_path_factory.mktemp("fault-sandbox"), sandbox_cdk_out, TIME_SCALE) as opened:
        yield opened


@pytest.fixture(autouse=True)
def _calm_and_fresh(deployed: Deployed) -> Iterator[None]:
    """No faults and an empty fleet window at the start and the end of every test."""
    sandbox, _ = deployed
    sandbox.use_faults(FaultSpec())
    clear_rate_window(deployed)
    yield
    sandbox.use_faults(FaultSpec())


def clear_rate_window(deployed: Deployed) -> None:
    """An empty fleet window and a reset circuit breaker: a run is never skipped for the runs before it
    (the longer matrix in `make bench` raises far more alarms than the breaker's 20 in 10 minutes)."""
    sandbox, deployment = deployed
    clear_fleet_limits(sandbox.client("dynamodb"), deployment.outputs["TableName"])


