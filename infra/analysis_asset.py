"""The TriageDump function's code asset: the shared Lambda code plus drgn, unpacked from its wheel.

No Docker: `make synth` downloads drgn's manylinux x86_64 wheel for Lambda's Python once into
.cache/wheels (pip download --platform ... --only-binary=:all:); synth unzips it beside the code,
which is all `pip install` does for a wheel without scripts. The other steps keep the small asset.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import zipfile
from pathlib import Path

DRGN_VERSION = "0.3.0"  # also pinned in pyproject's analysis extra, requirements-dev.txt and the Makefile
WHEEL_GLOB = f"drgn-{DRGN_VERSION}-cp314-cp314-manylinux*x86_64*.whl"  # RUNTIME is Python 3.14, x86_64
_DONE = ".asset-complete"


class AnalysisAssetError(RuntimeError):
    pass


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
    target = staging_root / digest.hexdigest()[:16]
    if (target / _DONE).is_file():
        return target
    staging_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="building-", dir=staging_root) as scratch:
        built = Path(scratch) / "asset"
        shutil.copytree(source, built, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(built)
        (built / _DONE).write_text(wheel.name)
        shutil.rmtree(target, ignore_errors=True)
        built.rename(target)
    for stale in staging_root.iterdir():  # keep one build: the current code and wheel
        if stale != target:
            shutil.rmtree(stale, ignore_errors=True)
    return target
