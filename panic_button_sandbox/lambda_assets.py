"""Check that cdk.out holds the code the sandbox is about to run in-process."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any


class StaleAssetsError(RuntimeError):
    """The function's asset in cdk.out differs from the importable source: run `make synth`."""


def python_asset_dir(assets_dir: Path, properties: dict[str, Any]) -> Path | None:
    """Where a Python function's code sits in cdk.out; None for another runtime or code not from an asset."""
    s3_key = properties.get("Code", {}).get("S3Key")
    if not str(properties.get("Runtime", "")).startswith("python") or not isinstance(s3_key, str):
        return None
    return assets_dir / f"asset.{s3_key.removesuffix('.zip')}"


def check_template_assets(template: dict[str, Any], assets_dir: Path) -> None:
    """Check every Python function of the template as deploying it will, without starting a sandbox."""
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        asset_dir = python_asset_dir(assets_dir, properties) if resource.get("Type") == "AWS::Lambda::Function" \
            else None
        if asset_dir is not None:
            check_asset_is_current(logical_id, str(properties.get("Handler", "")), asset_dir)


def check_asset_is_current(function_name: str, handler: str, asset_dir: Path) -> None:
    """Compare every .py file of the handler's top-level package (or module) in the asset and on sys.path."""
    top = handler.split(".", maxsplit=1)[0]
    spec = importlib.util.find_spec(top)
    if spec is None:
        raise StaleAssetsError(f"{function_name}: handler {handler!r}: module {top!r} is not importable")
    if spec.submodule_search_locations:
        source_root, asset_root = Path(next(iter(spec.submodule_search_locations))), asset_dir / top
        source = _python_files(source_root)
        asset = _python_files(asset_root)
    else:
        if spec.origin is None:
            raise StaleAssetsError(f"{function_name}: module {top!r} has no source file")
        source_root, asset_root = Path(spec.origin).parent, asset_dir
        source = asset = {f"{top}.py"}
    differing = sorted(
        name
        for name in source | asset
        if name not in source
        or name not in asset
        or (source_root / name).read_bytes() != (asset_root / name).read_bytes()
    )
    if differing:
        listed = ", ".join(differing[:5]) + (" ..." if len(differing) > 5 else "")
        raise StaleAssetsError(
            f"cdk.out is stale, run make synth: function {function_name} ({asset_dir.name}) differs from "
            f"{source_root} in: {listed}"
        )


def _python_files(root: Path) -> set[str]:
    if not root.is_dir():
        return set()
    return {str(path.relative_to(root)) for path in root.rglob("*.py") if "__pycache__" not in path.parts}
