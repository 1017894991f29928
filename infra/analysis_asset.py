"""The TriageDump function's code asset: the shared Lambda code plus drgn, unpacked from its wheel
(infra/wheel_assets.py: no Docker). The other steps keep the small asset."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from infra.wheel_assets import WheelAssetError, staged, unpack

DRGN_VERSION = "0.3.0"  # also pinned in pyproject's analysis extra, requirements-dev.txt and the Makefile
WHEEL_GLOB = f"drgn-{DRGN_VERSION}-cp314-cp314-manylinux*x86_64*.whl"  # RUNTIME is Python 3.14, x86_64
AnalysisAssetError = WheelAssetError


def analysis_asset(source: Path, wheels: Path, staging_root: Path) -> Path:
    """A folder with `source` (the lambdas/ tree) and drgn, rebuilt only when either changes."""
    found = sorted(wheels.glob(WHEEL_GLOB))
    if not found:
        raise AnalysisAssetError(
            f"no {WHEEL_GLOB} in {wheels}: run `make synth`, which downloads it "
            "(pip download --no-deps --platform manylinux2014_x86_64 --only-binary=:all: --python-version 3.14 "
            f"drgn=={DRGN_VERSION} -d {wheels})"
        )
    wheel = found[-1]
    files = sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    digest = hashlib.sha256(wheel.name.encode())
    for path in files:
        digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes())

    def fill(built: Path) -> None:
        shutil.copytree(source, built, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        unpack(wheel, built)

    return staged(staging_root, digest, fill)
