"""Helpers for the sandbox tests: the fixture cdk.out, and polling for asynchronous results."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
HANDLER_SOURCE = FIXTURES / "lambda_src"
STACK_NAME = "SandboxFixture"
TEMPLATE = FIXTURES / f"{STACK_NAME}.template.json"
ASSET_HASH = json.loads(TEMPLATE.read_text())["Resources"]["DescribeFn9A8B7C6D"]["Properties"]["Code"]["S3Key"][:-4]


def build_cdk_out(directory: Path) -> Path:
    """A cdk.out: the template, and the handler package as the functions' asset."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(TEMPLATE, directory / TEMPLATE.name)
    shutil.copytree(HANDLER_SOURCE, directory / f"asset.{ASSET_HASH}", ignore=shutil.ignore_patterns("__pycache__"))
    return directory


# Each condition here comes true within a second on an idle machine; the limit is a safety net for a
# loaded one (far above normal), so that only a condition that never comes true fails.
EVENTUALLY_SECONDS = 120.0


def eventually(check: Callable[[], Any], timeout_seconds: float = EVENTUALLY_SECONDS) -> Any:
    """Poll `check` until it returns something truthy: the sandbox's background work is asynchronous."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_seconds} s: last result {result!r}")
        time.sleep(0.02)
