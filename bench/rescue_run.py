"""One DUMP_COLLECTED rescue in the sandbox, from the alarm event, with AWS-like physical timing: the states
it entered, in order (what `transitions_per_rescue` counts and the overhead model walks)."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path

from panic_button_cli.sandbox_session import open_sandbox
from panic_button_cli.simulation import simulate
from panic_button_sandbox.instances import InstanceSpec

ROOT = Path(__file__).resolve().parent.parent


def rescue_states(reboot_seconds: float, time_scale: float) -> list[str]:
    """Names of the states entered by one rescue whose panic, dump write and reboot take `reboot_seconds`
    of simulated time. Fails unless the run ends DUMP_COLLECTED: any other count would be meaningless."""
    entered: list[str] = []
    spec = InstanceSpec(reboot_seconds=reboot_seconds)
    event = (ROOT / "examples/alarm-event.json").read_text()
    # The in-process Lambdas log to stdout; the benchmark's stdout carries only name=value lines.
    with tempfile.TemporaryDirectory(prefix="bench-rescue-") as workdir, \
            contextlib.redirect_stdout(io.StringIO()), \
            open_sandbox(Path(workdir), ROOT / "cdk.out" / "sandbox", time_scale) as (sandbox, deployment):
        report = simulate(sandbox, deployment, spec, [("event", event)],
                          listener=lambda _arn, state, _seconds: entered.append(state))
    outcome = report.results[0]
    if outcome.outcome != "DUMP_COLLECTED":
        raise SystemExit(f"the benchmark rescue ended {outcome.outcome}: {outcome.reason} "
                         f"({json.dumps(entered)})")
    if len(entered) != outcome.transitions:
        raise SystemExit(f"the listener saw {len(entered)} states, the history {outcome.transitions}")
    return entered
