"""Which granted actions the tests exercised, per role, and which they never did (least privilege, measured).

One recorder per process collects every decision of every sandbox; the test session writes the report."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from panic_button_sandbox.iam.conditions import glob_matches
from panic_button_sandbox.iam.policies import Decision, Statement

_RANDOM_SUFFIX = 13  # "-" and the 12 characters the deployer appends to a physical name


def role_label(role_name: str) -> str:
    """The role's name without the deployer's random suffix: stable from one sandbox to the next."""
    return role_name[:-_RANDOM_SUFFIX] if len(role_name) > _RANDOM_SUFFIX and role_name[-13] == "-" else role_name


@dataclass
class _RoleUsage:
    granted: set[str] = field(default_factory=set)  # action patterns of the role's Allow statements
    used: set[str] = field(default_factory=set)  # actions the role was allowed and used


@dataclass(frozen=True)
class DenialRecord:
    role: str
    function: str
    action: str
    resource: str
    reason: str
    missing: str


class GrantRecorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._roles: dict[str, _RoleUsage] = {}
        self._denials: list[DenialRecord] = []

    def grants(self, role_name: str, identity: Iterable[Statement]) -> None:
        actions = {str(action) for s in identity if s.get("Effect") == "Allow"
                   for action in _as_list(s.get("Action", []))}
        with self._lock:
            self._roles.setdefault(role_label(role_name), _RoleUsage()).granted.update(actions)

    def allowed(self, role_name: str, decision: Decision) -> None:
        with self._lock:
            self._roles.setdefault(role_label(role_name), _RoleUsage()).used.add(decision.request.action)

    def denied(self, record: DenialRecord) -> None:
        with self._lock:
            self._denials.append(record)

    def denials(self) -> list[DenialRecord]:
        with self._lock:
            return list(self._denials)

    def unused(self) -> dict[str, list[str]]:
        """Per role: granted action patterns that matched no action the role was allowed."""
        with self._lock:
            return {
                role: sorted(p for p in usage.granted if not any(glob_matches(p, a, ignore_case=True)
                                                                 for a in usage.used))
                for role, usage in sorted(self._roles.items())
            }

    def used(self) -> dict[str, list[str]]:
        with self._lock:
            return {role: sorted(usage.used) for role, usage in sorted(self._roles.items())}

    def write_report(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        report = {"unused_grants": self.unused(), "used_actions": self.used(),
                  "denials": [record.__dict__ for record in self.denials()]}
        path.write_text(json.dumps(report, indent=2) + "\n")


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


RECORDER = GrantRecorder()  # process-wide: sandboxes come and go within one test session
