"""Running host commands with bounded time and errors that say what failed."""

import logging
import shutil
import subprocess
from pathlib import Path

logger = logging.getLogger(__name__)

# pytest and CI shells often lack the sbin directories, where kexec and debugfs live.
_TOOL_DIRS = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")


class SandboxToolError(RuntimeError):
    """A host command needed to build or run the guest failed or is missing."""


def find_tool(name: str) -> Path:
    for directory in _TOOL_DIRS:
        found = shutil.which(name, path=directory)
        if found:
            return Path(found)
    raise SandboxToolError(f"{name} not found; run scripts/install-kernel-test-deps.sh")


def run_tool(args: list[str], *, timeout: float, cwd: Path | None = None) -> str:
    """Run a command, return its stdout; raise SandboxToolError with its stderr when it fails."""
    logger.debug("running %s", " ".join(args))
    try:
        completed = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SandboxToolError(f"{args[0]} timed out after {timeout:.0f} s") from exc
    if completed.returncode != 0:
        detail = (completed.stderr or completed.stdout).strip()[-2000:]
        raise SandboxToolError(f"{' '.join(args)} exited {completed.returncode}: {detail}")
    return completed.stdout
