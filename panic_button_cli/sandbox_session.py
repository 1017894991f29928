"""Open the sandbox with the synthesized stack deployed into it: shared by simulate, demo and tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.sandbox import Sandbox

DEFAULT_TIME_SCALE = 100.0


def stack_name_from(cdk_out: Path) -> str:
    """The one stack of the cloud assembly (its name is configurable in cdk.json)."""
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    stacks = [name for name, artifact in manifest["artifacts"].items()
              if artifact.get("type") == "aws:cloudformation:stack"]
    if len(stacks) != 1:
        raise RuntimeError(f"{cdk_out} holds {len(stacks)} stacks; run make synth")
    return str(stacks[0])


@contextmanager
def open_sandbox(workdir: Path, cdk_out: Path, time_scale: float = DEFAULT_TIME_SCALE
                 ) -> Iterator[tuple[Sandbox, Deployment]]:
    if not (cdk_out / "manifest.json").exists():
        raise RuntimeError(f"{cdk_out} has no cloud assembly; run make synth")
    with Sandbox(workdir, time_scale=time_scale) as sandbox:
        deployment = sandbox.deploy(cdk_out, stack_name_from(cdk_out))
        yield sandbox, deployment
