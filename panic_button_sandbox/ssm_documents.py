"""SSM Command documents as the agent sees them: parameters checked like SendCommand, steps rendered."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
DEFAULT_EXECUTION_TIMEOUT_SECONDS = 3600


class InvalidParameters(Exception):
    """SendCommand's InvalidParameters: a value is missing, unknown, or fails its allowed pattern."""


class InvalidDocument(Exception):
    """The document cannot be run by the sandbox's agent."""


@dataclass(frozen=True)
class DocumentStep:
    name: str
    action: str
    inputs: dict[str, Any]
    precondition: dict[str, list[str]] | None

    def runs_on(self, platform_type: str) -> bool:
        """Preconditions in schema 2.2 documents: only `StringEquals: [platformType, X]` exists."""
        if not self.precondition:
            return True
        return all(values[-1] == platform_type for values in self.precondition.values())

    def commands(self, parameters: dict[str, list[str]]) -> list[str]:
        """runCommand lines with `{{ Name }}` replaced; a StringList alone on a line expands to many lines."""
        rendered: list[str] = []
        for line in self.inputs.get("runCommand", []):
            whole = _PLACEHOLDER.fullmatch(line.strip())
            if whole and whole.group(1) in parameters:
                rendered.extend(parameters[whole.group(1)])
                continue
            rendered.append(_substitute(line, parameters))
        return rendered

    def timeout_seconds(self, parameters: dict[str, list[str]]) -> float:
        raw = self.inputs.get("timeoutSeconds", DEFAULT_EXECUTION_TIMEOUT_SECONDS)
        return float(_substitute(str(raw), parameters))


@dataclass(frozen=True)
class CommandDocument:
    name: str
    parameters: dict[str, dict[str, Any]]
    steps: list[DocumentStep]

    @classmethod
    def parse(cls, name: str, content: str) -> CommandDocument:
        body = json.loads(content)
        if "mainSteps" not in body:
            raise InvalidDocument(f"document {name} has no mainSteps (schema 2.x) and cannot run here")
        steps = [
            DocumentStep(
                name=step["name"],
                action=step["action"],
                inputs=step.get("inputs", {}),
                precondition=step.get("precondition"),
            )
            for step in body["mainSteps"]
        ]
        return cls(name=name, parameters=body.get("parameters", {}), steps=steps)

    def resolve_parameters(self, given: dict[str, list[str]]) -> dict[str, list[str]]:
        """Check the values SendCommand got and fill in defaults, raising InvalidParameters like AWS."""
        unknown = sorted(set(given) - set(self.parameters))
        if unknown:
            raise InvalidParameters(f"Parameters {unknown} are not defined in document {self.name}.")
        resolved: dict[str, list[str]] = {}
        for name, definition in self.parameters.items():
            if name in given:
                values = [str(value) for value in given[name]]
            elif "default" in definition:
                default = definition["default"]
                values = [str(item) for item in default] if isinstance(default, list) else [str(default)]
            else:
                raise InvalidParameters(f'Parameter "{name}" is required by document {self.name}.')
            _check_values(name, definition, values)
            resolved[name] = values
        return resolved


def _check_values(name: str, definition: dict[str, Any], values: list[str]) -> None:
    if definition.get("type", "String") != "StringList" and len(values) != 1:
        raise InvalidParameters(f'Parameter "{name}" takes exactly one value.')
    pattern = definition.get("allowedPattern")
    allowed = definition.get("allowedValues")
    for value in values:
        # AWS documents write anchored patterns (^...$); the pattern's own anchors decide.
        if pattern is not None and re.search(pattern, value) is None:
            raise InvalidParameters(
                f'Parameter "{name}" value "{value}" failed to satisfy constraint: '
                f"Member must satisfy regular expression pattern: {pattern}"
            )
        if allowed is not None and value not in allowed:
            raise InvalidParameters(f'Parameter "{name}" value "{value}" is not one of {allowed}.')


def _substitute(text: str, parameters: dict[str, list[str]]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return ",".join(parameters[name]) if name in parameters else match.group(0)

    return _PLACEHOLDER.sub(replace, text)
