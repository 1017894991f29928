"""The output folder of `demo` and `simulate --output`: a rerun removes what the last run wrote, and only that."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from panic_button_cli.output_folder import MARKER, OutputFolder, OutputFolderError


def fill(folder: Path, *names: str) -> None:
    with OutputFolder(folder, "test") as path:
        for name in names:
            (path / name).mkdir()
            (path / name / "report.md").write_text("x")


def test_a_second_run_starts_from_what_it_writes(tmp_path: Path) -> None:
    folder = tmp_path / "demo-output"
    fill(folder, "web-1-i-0aaa", "db-1-i-0bbb")
    fill(folder, "web-1-i-0ccc")
    assert sorted(p.name for p in folder.iterdir()) == [MARKER, "web-1-i-0ccc"]
    assert json.loads((folder / MARKER).read_text())["entries"] == ["web-1-i-0ccc"]


def test_files_a_person_added_survive_and_are_never_claimed(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    fill(folder, "web-1-i-0aaa")
    (folder / "notes.txt").write_text("mine")
    fill(folder, "web-1-i-0bbb")
    fill(folder, "web-1-i-0ccc")
    assert (folder / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in folder.iterdir()) == [MARKER, "notes.txt", "web-1-i-0ccc"]


def test_a_folder_without_the_marker_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep")
    with pytest.raises(OutputFolderError, match="not an earlier run's output"):
        OutputFolder(tmp_path, "test")
    assert (tmp_path / "precious.txt").read_text() == "keep"


def test_a_marker_naming_paths_outside_the_folder_deletes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (tmp_path / "outside").mkdir()
    (folder / MARKER).write_text(json.dumps({"entries": ["../outside"]}))
    with pytest.raises(OutputFolderError, match="other than names"):
        OutputFolder(folder, "test")
    assert (tmp_path / "outside").is_dir()


def test_the_marker_is_written_when_the_run_fails(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    with pytest.raises(RuntimeError), OutputFolder(folder, "test") as path:
        (path / "half-written").mkdir()
        raise RuntimeError("sandbox broke")
    fill(folder)
    assert [p.name for p in folder.iterdir()] == [MARKER]


def test_an_empty_or_missing_folder_is_fine_and_a_file_is_not(tmp_path: Path) -> None:
    fill(tmp_path / "new" / "nested")
    (tmp_path / "empty").mkdir()
    fill(tmp_path / "empty")
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputFolderError, match="not a folder"):
        OutputFolder(tmp_path / "file", "test")
