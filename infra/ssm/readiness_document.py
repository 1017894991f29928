"""The readiness SSM Command document (schema 2.2): one read-only step per platform, each the script file
next to this module, loaded at synth time.

It has no parameters, so nothing a caller passes reaches the scripts. `panic-button readiness` reads the
step that ran through GetCommandInvocation's PluginName: the step names are part of its contract."""

from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parent
TIMEOUT_SECONDS = 120  # the checks take about a second; a hung df or systemctl must not hold the command
# platformType: (step name, plugin, script file)
STEPS: dict[str, tuple[str, str, str]] = {
    "Linux": ("linuxReadiness", "aws:runShellScript", "readiness.sh"),
    "Windows": ("windowsReadiness", "aws:runPowerShellScript", "readiness.ps1"),
}


def readiness_script_lines(file_name: str) -> list[str]:
    """The script's lines without a leading shebang (the agent picks the interpreter)."""
    lines = (SCRIPTS / file_name).read_text(encoding="utf-8").splitlines()
    return lines[1:] if lines and lines[0].startswith("#!") else lines


def build_readiness_document() -> dict[str, Any]:
    return {
        "schemaVersion": "2.2",
        "description": "Panic Button readiness (read-only): will a diagnostic interrupt leave a crash dump? "
        "Prints one <check>=<ok|warn|fail> <detail> line per check, then ready=yes|no and reasons=.",
        "mainSteps": [
            {
                "action": plugin,
                "name": step_name,
                "precondition": {"StringEquals": ["platformType", platform_type]},
                "inputs": {"timeoutSeconds": TIMEOUT_SECONDS, "runCommand": readiness_script_lines(script)},
            }
            for platform_type, (step_name, plugin, script) in STEPS.items()
        ],
    }
