"""`make help` lists every target of the Makefile, and every `make <target>` the docs name is one of them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "examples" / "README.md"]


def _phony_targets() -> set[str]:
    phony = re.search(r"^\.PHONY:(.*)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert phony is not None
    return set(phony.group(1).split()) - {"help"}


def _listed_by_help() -> set[str]:
    shown = subprocess.run(["make", "-s", "--no-print-directory", "help"], cwd=REPO, capture_output=True, text=True,
                           timeout=60, check=True).stdout
    return set(re.findall(r"^make ([a-z-]+) ", shown, re.MULTILINE))


def test_help_lists_every_target() -> None:
    assert _phony_targets() - _listed_by_help() == set()


def test_every_target_the_docs_name_exists_and_is_listed() -> None:
    named = {target for doc in DOCS for target in re.findall(r"`make ([a-z-]+)`", doc.read_text())}
    assert named, "the docs name make targets"
    assert named - _listed_by_help() == set()
