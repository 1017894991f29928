"""The collector's SSM Command documents (schema 2.2), built from the script files next to this module.

runCommand is two assignments of the parameters, then the script's lines. Parameter values reach the
script only through those single-quoted assignments, and every parameter has an allowedPattern that
excludes the quote, so no value can end the string it sits in. The script never evaluates them."""

from pathlib import Path
from typing import Any, Literal

from panic_button.models.collection import ACTION_PATTERN, EXECUTION_TIMEOUT_PATTERN

SCRIPTS = Path(__file__).resolve().parent
Platform = Literal["linux", "windows"]

_PREAMBLE: dict[Platform, list[str]] = {
    "linux": ["PB_ACTION='{{ Action }}'", "PB_MANIFEST_URL='{{ ManifestUrl }}'"],
    "windows": ["$PbAction = '{{ Action }}'", "$PbManifestUrl = '{{ ManifestUrl }}'"],
}
_STEP: dict[Platform, tuple[str, str, str]] = {
    # platform: (plugin, platformType precondition, script file)
    "linux": ("aws:runShellScript", "Linux", "collect_dump.sh"),
    "windows": ("aws:runPowerShellScript", "Windows", "collect_dump.ps1"),
}

PARAMETERS: dict[str, dict[str, str]] = {
    "Action": {
        "type": "String",
        "description": "locate: report the newest complete crash dump; upload: ship it to S3.",
        "allowedPattern": ACTION_PATTERN,
    },
    "ManifestUrl": {
        "type": "String",
        "description": "Presigned S3 GET URL of the collection manifest (short-lived).",
        # allowedPattern: the stack's own bucket, set by build_collector_document
    },
    "ExecutionTimeout": {
        "type": "String",
        "description": "Seconds the collector may run (1 to 172800).",
        "default": "3600",
        "allowedPattern": EXECUTION_TIMEOUT_PATTERN,
    },
}


def script_lines(platform: Platform) -> list[str]:
    """The script file's lines, without a leading shebang (the agent picks the interpreter)."""
    lines = (SCRIPTS / _STEP[platform][2]).read_text(encoding="utf-8").splitlines()
    return lines[1:] if lines and lines[0].startswith("#!") else lines


def build_collector_document(platform: Platform, manifest_url_pattern: str) -> dict[str, Any]:
    """`manifest_url_pattern`: ManifestUrl's allowedPattern (models.collection.manifest_url_pattern)."""
    plugin, platform_type, _ = _STEP[platform]
    parameters = {name: dict(spec) for name, spec in PARAMETERS.items()}
    parameters["ManifestUrl"]["allowedPattern"] = manifest_url_pattern
    return {
        "schemaVersion": "2.2",
        "description": f"Panic Button: locate and upload the crash dump of a recovered {platform_type} "
        "instance through presigned S3 URLs (the instance needs no S3 permissions).",
        "parameters": parameters,
        "mainSteps": [
            {
                "action": plugin,
                "name": "collectCrashDump",
                "precondition": {"StringEquals": ["platformType", platform_type]},
                "inputs": {
                    "timeoutSeconds": "{{ ExecutionTimeout }}",
                    "runCommand": [*_PREAMBLE[platform], *script_lines(platform)],
                },
            }
        ],
    }
