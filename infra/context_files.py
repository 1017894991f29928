"""The context each CDK configuration file holds, read as the CDK CLI reads them, so that an invalid value's
error can say which file it came from, or that it came from `-c` (the CLI merges them all into one context)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def context_files(project: Path, home: Path | None = None) -> dict[str, dict[str, Any]]:
    """cdk.json's "context", cdk.context.json, and ~/.cdk.json's "context"; a missing or unreadable one is {}."""
    home = Path.home() if home is None else home
    return {
        "cdk.json": _read(project / "cdk.json").get("context", {}),
        "cdk.context.json": _read(project / "cdk.context.json"),
        "~/.cdk.json": _read(home / ".cdk.json").get("context", {}),
    }


def _read(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}
