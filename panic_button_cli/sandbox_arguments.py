"""What `simulate` and `demo` share: the --time-scale and --cdk-out arguments, their one validation (before
the sandbox starts: bad input is exit code 2, one line with the fix) and the one line of a broken sandbox."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from panic_button_cli.operations.errors import OperatorError
from panic_button_sandbox.lambda_assets import StaleAssetsError, check_template_assets
from panic_button_sandbox.qemu.backend import MAX_TIME_SCALE as QEMU_MAX_TIME_SCALE
from panic_button_sandbox.work_budget import MAX_TIME_SCALE

DEFAULT_TIME_SCALE = 100.0
# A real kernel reboots in real time (~20 s); the workflow's 30 s polls pass 10x faster.
KERNEL_TIME_SCALE = 10.0
EXIT_SANDBOX = 3
SYNTH_FIX = "run make synth (or pass --cdk-out DIR)"
SANDBOX_ASSEMBLY = Path("cdk.out/sandbox")
_LOOPBACK = "127\\.0\\.0\\.1"  # as the documents' ManifestUrl allowedPattern writes it


def add_sandbox_arguments(parser: argparse.ArgumentParser, default_scale: str) -> None:
    parser.add_argument("--time-scale", type=float, default=None, metavar="N",
                        help=f"simulated seconds per real second, more than 0 and at most {MAX_TIME_SCALE:g} "
                             f"(default: {default_scale}; a real kernel allows at most {QEMU_MAX_TIME_SCALE:g})")
    parser.add_argument("--cdk-out", type=Path, default=SANDBOX_ASSEMBLY, metavar="DIR",
                        help="the synthesized cloud assembly that is deployed into the sandbox (default: %(default)s, "
                             "written by make synth: the stack of cdk.out/, its collector documents also admitting "
                             "the sandbox's http://127.0.0.1 URLs)")


def checked_time_scale(requested: float | None, *, real_kernel: bool) -> float:
    """The scale to run at: the default for the run when none was given, else the requested one if it holds."""
    if requested is None:
        return KERNEL_TIME_SCALE if real_kernel else DEFAULT_TIME_SCALE
    if not math.isfinite(requested) or requested <= 0:
        raise OperatorError(f"--time-scale {requested:g} is not a speed-up",
                            f"pass a number more than 0 and at most {MAX_TIME_SCALE:g}, e.g. {DEFAULT_TIME_SCALE:g}")
    if real_kernel and requested > QEMU_MAX_TIME_SCALE:
        raise OperatorError(f"--time-scale {requested:g} is too fast for a real kernel, which reboots in real time "
                            f"(~20 s)", f"pass --time-scale {KERNEL_TIME_SCALE:g} (at most {QEMU_MAX_TIME_SCALE:g})")
    if requested > MAX_TIME_SCALE:
        raise OperatorError(f"--time-scale {requested:g} is above {MAX_TIME_SCALE:g}: the scaled waits would be "
                            "shorter than the sandbox's own work, and runs would fail on time",
                            f"pass at most --time-scale {MAX_TIME_SCALE:g}")
    return requested


def check_cloud_assembly(cdk_out: Path) -> str:
    """The one stack of a current cloud assembly in `cdk_out` (its name is configurable in cdk.json)."""
    try:
        manifest = json.loads((cdk_out / "manifest.json").read_text())
    except OSError:
        raise OperatorError(f"--cdk-out {cdk_out} holds no cloud assembly", SYNTH_FIX) from None
    except ValueError:
        raise OperatorError(f"--cdk-out {cdk_out}: manifest.json is not JSON", SYNTH_FIX) from None
    stacks = [name for name, artifact in manifest.get("artifacts", {}).items()
              if artifact.get("type") == "aws:cloudformation:stack"]
    if len(stacks) != 1:
        raise OperatorError(f"--cdk-out {cdk_out} holds {len(stacks)} stacks, not one", SYNTH_FIX)
    try:
        template = json.loads((cdk_out / f"{stacks[0]}.template.json").read_text())
        check_template_assets(template, cdk_out)
    except (OSError, ValueError):
        raise OperatorError(f"--cdk-out {cdk_out} has no readable template of stack {stacks[0]}", SYNTH_FIX) from None
    except StaleAssetsError as error:
        raise OperatorError(f"--cdk-out {cdk_out} is older than the code: {str(error).partition(': ')[2]}",
                            SYNTH_FIX) from None
    _check_collector_urls(template, cdk_out)
    return str(stacks[0])


def _text(value: Any) -> str:
    """Every string of a template value (an Fn::Join's parts), joined."""
    if isinstance(value, dict):
        return "".join(_text(item) for item in value.values())
    if isinstance(value, list):
        return "".join(_text(item) for item in value)
    return value if isinstance(value, str) else ""


def _check_collector_urls(template: dict[str, Any], cdk_out: Path) -> None:
    """A deployable assembly's collector documents refuse the sandbox's URLs: every collection would fail."""
    patterns = [_text(resource["Properties"]["Content"]["parameters"]["ManifestUrl"].get("allowedPattern"))
                for resource in template.get("Resources", {}).values()
                if resource.get("Type") == "AWS::SSM::Document"
                and "ManifestUrl" in resource.get("Properties", {}).get("Content", {}).get("parameters", {})]
    if any(_LOOPBACK not in pattern for pattern in patterns):
        raise OperatorError(f"--cdk-out {cdk_out} is the deployable assembly: its collector documents admit only "
                            "the stack's S3 endpoint, not the sandbox's http://127.0.0.1",
                            f"pass --cdk-out {SANDBOX_ASSEMBLY} (make synth writes it)")


def report_sandbox_failure(error: BaseException, lambda_logs: Path) -> int:
    """A sandbox that broke while running is one line on stderr, exit code 3, never a traceback."""
    lines = str(error).strip().splitlines()
    problem = f"sandbox failed: {type(error).__name__}: {lines[0] if lines else ''}"
    print(OperatorError(problem, f"see the Lambda logs in {lambda_logs}").one_line(), file=sys.stderr)
    return EXIT_SANDBOX
