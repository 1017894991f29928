"""`cdk synth` flags (-c key=value) for a JSON file of context settings, for the Makefile's organization synth:
the CDK CLI reads context from cdk.json and -c only."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path


def context_flags(path: Path) -> list[str]:
    settings: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    flags: list[str] = []
    for key, value in settings.items():
        text = ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
        flags += ["-c", f"{key}={text}"]
    return flags


if __name__ == "__main__":
    print(shlex.join(context_flags(Path(sys.argv[1]))))
