"""Open the sandbox with the synthesized stack deployed into it: shared by simulate, demo and tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from panic_button_cli.sandbox_arguments import DEFAULT_TIME_SCALE, check_cloud_assembly
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.faults.spec import FaultSpec
from panic_button_sandbox.sandbox import Sandbox


@contextmanager
def open_sandbox(workdir: Path, cdk_out: Path, time_scale: float = DEFAULT_TIME_SCALE, port: int = 0,
                 faults: FaultSpec | None = None) -> Iterator[tuple[Sandbox, Deployment]]:
    stack_name = check_cloud_assembly(cdk_out)  # a missing or stale cdk.out is refused before moto starts
    with Sandbox(workdir, time_scale=time_scale, port=port) as sandbox:
        deployment = sandbox.deploy(cdk_out, stack_name)  # deployed without faults: the stack is the given
        if faults is not None:
            sandbox.use_faults(faults)
        yield sandbox, deployment
