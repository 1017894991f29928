"""Lambda code assets made of wheels, without Docker: `make synth` downloads each wheel for Lambda's Python
(pip download --platform manylinux2014_x86_64 --python-version 3.14 --only-binary=:all:), and synth unzips
them, which is all `pip install` does for a wheel without scripts. The TriageDump asset (the Lambda code
plus drgn) and the dependencies layer (Powertools and Pydantic) are built this way."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

_DONE = ".asset-complete"


class WheelAssetError(RuntimeError):
    pass


def unpack(wheel: Path, target: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)


def staged(staging_root: Path, digest: hashlib._Hash, fill: Callable[[Path], None]) -> Path:
    """A folder under `staging_root` named by `digest`, built by `fill` once and kept until the digest
    changes (the previous build is removed). Built aside and renamed: a half-built asset is never used."""
    target = staging_root / digest.hexdigest()[:16]
    if (target / _DONE).is_file():
        return target
    staging_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="building-", dir=staging_root) as scratch:
        built = Path(scratch) / "asset"
        built.mkdir()
        fill(built)
        (built / _DONE).write_text(digest.hexdigest())
        shutil.rmtree(target, ignore_errors=True)
        built.rename(target)
    for stale in staging_root.iterdir():  # keep one build: the current one
        if stale != target:
            shutil.rmtree(stale, ignore_errors=True)
    return target


def pinned_wheels(requirements: Path, wheels: Path) -> list[Path]:
    """The wheel of every `name==version` line of `requirements`, from `wheels`; a missing one is an error
    that says how to get it."""
    found = []
    for line in requirements.read_text().splitlines():
        spec = line.split("#", 1)[0].strip()
        if not spec:
            continue
        name, _, version = spec.partition("==")
        stem = f"{name.replace('-', '_').lower()}-{version}-"
        matches = sorted(w for w in wheels.glob("*.whl") if w.name.lower().startswith(stem))
        if not matches:
            raise WheelAssetError(f"no wheel of {spec} in {wheels}: run `make synth`, which downloads "
                                  f"{requirements.name}'s wheels for Lambda's Python 3.14 on x86_64")
        found.append(matches[-1])
    return found


def dependencies_layer(requirements: Path, wheels: Path, staging_root: Path) -> Path:
    """The layer folder: every pinned wheel of `requirements` unpacked under python/, where Lambda's
    Python finds a layer's packages."""
    chosen = pinned_wheels(requirements, wheels)

    def fill(built: Path) -> None:
        for wheel in chosen:
            unpack(wheel, built / "python")

    return staged(staging_root, hashlib.sha256("\n".join(w.name for w in chosen).encode()), fill)
