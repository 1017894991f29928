"""One sandbox with the synthesized stack deployed, shared by the alarm lifecycle tests of this package.

EC2 state and tag events reach the real alarm manager through the deployed rules, asynchronously as on
AWS; `LifecycleFleet` waits for those invocations after each change, so the tests read a settled state.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from panic_button_cli.sandbox_session import open_sandbox
from tests.fleet_limits import clear_fleet_limits
from tests.lifecycle.lifecycle_fleet import LifecycleFleet

TIME_SCALE = 200.0


@pytest.fixture(scope="package")
def fleet(sandbox_cdk_out: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LifecycleFleet]:
    with open_sandbox(tmp_path_factory.mktemp("lifecycle-sandbox"), sandbox_cdk_out,
                      TIME_SCALE) as (sandbox, deployment):
        yield LifecycleFleet(sandbox, deployment)


@pytest.fixture(autouse=True)
def _fresh_rate_window(fleet: LifecycleFleet) -> None:
    """Each test starts with an empty fleet window and a reset breaker (tests/fleet_limits.py)."""
    clear_fleet_limits(fleet.sandbox.client("dynamodb"), fleet.deployment.outputs["TableName"])
