"""The folder `demo` and `simulate --output` fill: emptied of the previous run's files before the next run.

A marker file lists what a run wrote. Only those entries are ever deleted, and a non-empty folder
without the marker is refused: it may be someone's work, not an earlier run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import TracebackType

from panic_button_cli.operations.errors import OperatorError

MARKER = ".panic-button-output.json"


class OutputFolderError(OperatorError):
    """The folder cannot be used (bad input, exit code 2): the problem and the fix."""


class OutputFolder:
    """`with OutputFolder(path, "panic-button demo"):` cleans now and writes the marker on the way out,
    also when the run fails, so the next run can remove what this one left."""

    def __init__(self, path: Path, writer: str) -> None:
        self.path, self.writer = path, writer
        remove_previous_run(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputFolderError(f"--output {path}: {error.strerror or error}",
                                    "pass a writable directory") from None
        self._kept = {entry.name for entry in path.iterdir()}  # files a person added: never ours to delete

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        written = sorted(entry.name for entry in self.path.iterdir() if entry.name not in self._kept | {MARKER})
        (self.path / MARKER).write_text(json.dumps({"written_by": self.writer, "entries": written}, indent=2) + "\n")


def remove_previous_run(path: Path) -> None:
    """Delete the entries the marker lists, then the marker; refuse a folder that has none."""
    if not path.exists():
        return
    if not path.is_dir():
        raise OutputFolderError(f"--output {path} is not a folder", "pass another --output")
    if not any(path.iterdir()):
        return
    marker = path / MARKER
    try:
        entries = json.loads(marker.read_text())["entries"]
    except FileNotFoundError:
        raise OutputFolderError(f"--output {path} is not empty and holds no {MARKER}, so it is not an earlier "
                                "run's output", "pass another --output or empty it") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise OutputFolderError(f"{marker} is unreadable ({error})",
                                f"delete {path} or pass another --output") from None
    if not isinstance(entries, list) or not all(_plain_name(name) for name in entries):
        raise OutputFolderError(f"{marker} lists something other than names in {path}", "delete the folder by hand")
    for name in entries:
        entry = path / name
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink(missing_ok=True)
    marker.unlink()


def _plain_name(name: object) -> bool:
    """A name directly inside the folder: nothing that could reach outside it."""
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name
