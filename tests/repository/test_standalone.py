"""The repository stands alone: a fresh clone has no reading-material folder beside it, so no file in the
repository may name one. This file spells the name in pieces so that it does not match itself."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_NAME = "sha" + "red"
# `../<name>`, a path built as `parent / "<name>"`, or one of that folder's own subfolders.
_REFERENCE = re.compile(
    rf"\.\./+{_NAME}\b|/\s*[\"']{_NAME}[\"']|\b{_NAME}/(?:events|reference|hooks)\b"
)
# Build output and installed tools: not part of the repository (all gitignored).
_NOT_OURS = {".git", ".venv", "node_modules", "cdk.out", ".cache", ".mypy_cache", ".ruff_cache",
             ".pytest_cache", "__pycache__", "demo-output"}


def references_outside(text: str) -> list[str]:
    return [match.group(0) for match in _REFERENCE.finditer(text)]


def repository_files() -> list[Path]:
    files = []
    for folder, subfolders, names in os.walk(REPO):
        subfolders[:] = [name for name in subfolders if name not in _NOT_OURS and not name.startswith(".venv")]
        files.extend(Path(folder) / name for name in names)
    return [path for path in files if path != Path(__file__).resolve()]


@pytest.mark.parametrize("text", [
    f"see ../{_NAME}/reference/kdump-qemu.md",
    f'REPO.parent / "{_NAME}" / "events"',
    f"(../../../../{_NAME}/x)",
    f"shaped like {_NAME}/events/alarm.json",
])
def test_the_check_sees_every_way_of_naming_the_folder(text: str) -> None:
    assert references_outside(text)


def test_the_check_leaves_ordinary_words_alone() -> None:
    assert not references_outside(f"boto3 clients {_NAME} by the logic; a {_NAME}_dir; ~/.aws/{_NAME[:0]}config")


def test_no_file_in_the_repository_names_a_folder_outside_it() -> None:
    files = repository_files()
    assert len(files) > 100, "the walk found too few files to mean anything"
    offenders = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if found := references_outside(text):
            offenders[str(path.relative_to(REPO))] = found
    assert not offenders, f"files that read outside the repository (keep a copy inside instead): {offenders}"
