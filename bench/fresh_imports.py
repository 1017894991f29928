"""Cold-import cost of Python statements, each in a fresh interpreter, as a ratio to a bare `import boto3`
timed in the same round (pair by pair, so a machine whose speed drifts affects both sides alike)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "import boto3"
# What Lambda sets for a Python function with active tracing; the handlers read nothing else at import.
LAMBDA_ENVIRONMENT = {
    "AWS_LAMBDA_FUNCTION_NAME": "panic-button-bench",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "panic-button",
    "POWERTOOLS_METRICS_NAMESPACE": "PanicButton",
    "_X_AMZN_TRACE_ID": "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=1",
}
_TIMER = "import time as _t\n_s = _t.process_time()\n{body}\nprint(_t.process_time() - _s)\n"


def handler_modules() -> list[str]:
    handlers = ROOT / "lambdas/panic_button/handlers"
    return sorted(f"panic_button.handlers.{p.stem}" for p in handlers.glob("handle_*.py"))


def seconds_to_run(body: str, environment: Mapping[str, str]) -> float:
    """CPU seconds `body` takes in a new interpreter, timed inside it so interpreter start-up is left out.
    CPU, not wall time: an import is CPU-bound, and wall time here mostly measures the other tenants."""
    result = subprocess.run([sys.executable, "-c", _TIMER.format(body=body)], env=dict(environment),
                            capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"{body!r} failed: {result.stderr.strip().splitlines()[-1:]}")
    return float(result.stdout.strip().splitlines()[-1])


def ratios_to_boto3(bodies: Mapping[str, str], *, repeat: int, extra_env: Mapping[str, str] | None = None
                    ) -> dict[str, float]:
    """Median over `repeat` rounds of (seconds of each body) / (seconds of `import boto3` in that round)."""
    environment = {**os.environ, **LAMBDA_ENVIRONMENT, **(extra_env or {}),
                   "PYTHONPATH": os.pathsep.join([str(ROOT / "lambdas"), str(ROOT)])}
    for body in [BASELINE, *bodies.values()]:  # warm-up: byte-code caches written, files in the page cache
        seconds_to_run(body, environment)
    rounds: dict[str, list[float]] = {name: [] for name in bodies}
    for _ in range(repeat):
        for name, body in bodies.items():
            baseline = seconds_to_run(BASELINE, environment)
            rounds[name].append(seconds_to_run(body, environment) / baseline)
    return {name: statistics.median(values) for name, values in rounds.items()}


def handler_import_ratios(repeat: int, limit: int | None = None) -> dict[str, float]:
    """Each handler module's cold import / `import boto3`; `limit` takes only the first few (smoke runs)."""
    return ratios_to_boto3({m: f"import {m}" for m in handler_modules()[:limit]}, repeat=repeat)


if __name__ == "__main__":
    for module, ratio in sorted(handler_import_ratios(int(sys.argv[1]) if len(sys.argv) > 1 else 5).items(),
                                key=lambda item: -item[1]):
        print(f"{ratio:5.2f}  {module}")
