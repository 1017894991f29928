"""The longer fault matrix: every scenario in examples/ (the 300 MiB dump included) under the issue's bar
(throttle=0.3,error5xx=0.05) for several seeds, each compared with the same scenario's calm run. The suite
runs one seed and leaves out the large dump (tests/faults/test_fault_matrix.py); this is where a rarer
interleaving of faults shows. A run that differs is printed to stderr with its seed, to repeat it."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.rescue_run import ROOT
from panic_button_cli.sandbox_session import open_sandbox
from tests.faults.matrix import HOSTILE, departures, described, example_specs, observed
from tests.topic_subscriber import Topic

TIME_SCALE = 200.0  # the tests' own: the waits for reboots and polls are not what is measured


@dataclass(frozen=True)
class MatrixFigures:
    runs: int
    differing: int  # runs whose outcome, interrupts, artifacts or notifications differ from what the bar allows
    faults_injected: int
    seconds_per_run: float  # hostile runs only, wall time in the sandbox


def run_matrix(workdir: Path, cdk_out: Path, *, seeds: Sequence[int], examples: Sequence[str] | None = None
               ) -> MatrixFigures:
    specs = example_specs()
    names = sorted(specs) if examples is None else list(examples)
    runs = differing = injected_total = 0
    hostile_seconds = 0.0
    with contextlib.redirect_stdout(io.StringIO()), open_sandbox(workdir, cdk_out, TIME_SCALE) as deployed:
        sandbox, deployment = deployed
        topic = Topic(sandbox, deployment.outputs["TopicArn"])
        try:
            for name in names:
                calm, _ = observed(deployed, topic, specs[name], dataclasses.replace(HOSTILE, throttle=0.0,
                                                                                     error5xx=0.0))
                for seed in seeds:
                    started = time.monotonic()
                    hostile, injected = observed(deployed, topic, specs[name], dataclasses.replace(HOSTILE, seed=seed))
                    hostile_seconds += time.monotonic() - started
                    runs += 1
                    injected_total += len(injected)
                    if departed := departures(calm, hostile, injected):
                        differing += 1
                        print(f"{name} seed {seed}: (allowed, seen) {departed}; faults: {described(injected)}",
                              file=sys.stderr)
        finally:
            topic.close()
    return MatrixFigures(runs=runs, differing=differing, faults_injected=injected_total,
                         seconds_per_run=hostile_seconds / max(runs, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 1..N per example (default 5)")
    parser.add_argument("--example", action="append", help="only this example (repeatable)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as workdir:
        figures = run_matrix(Path(workdir), ROOT / "cdk.out" / "sandbox", seeds=range(1, args.seeds + 1),
                             examples=args.example)
    for name, value in dataclasses.asdict(figures).items():
        print(f"fault_matrix_{name}={value:.3g}" if isinstance(value, float) else f"fault_matrix_{name}={value}")


if __name__ == "__main__":
    main()
