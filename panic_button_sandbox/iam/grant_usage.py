"""Which granted actions the tests exercised, per role, and which they never did (least privilege, measured).

One recorder per process collects every decision of every sandbox. Each test session saves its recording beside
the others made for the same template, and the report is their union: `make test` runs two sessions (the
kernel tests apart), and a grant only the kernel workflow uses is still a used grant."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from panic_button_sandbox.iam.conditions import glob_matches
from panic_button_sandbox.iam.policies import Decision, Statement

_RANDOM_SUFFIX = 13  # "-" and the 12 characters the deployer appends to a physical name
_LABEL_LENGTH = 64 - _RANDOM_SUFFIX  # what the deployer keeps of "<stack>-<logical id>" in a role name
UNEXERCISED_METADATA = "PanicButton::UnexercisedGrants"  # as infra/constructs/step_function.py writes it


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

    def unexplained(self, explained: dict[str, dict[str, str]]) -> dict[str, list[str]]:
        """Unused grants without a reason in the template (see `explained_grants`), for the template's own
        roles only: the roles of the tests' small fixture stacks are not the product's."""
        left = {role: [a for a in actions if a not in explained[role]]
                for role, actions in self.unused().items() if role in explained}
        return {role: actions for role, actions in left.items() if actions}

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {"roles": {role: {"granted": sorted(u.granted), "used": sorted(u.used)}
                              for role, u in sorted(self._roles.items())},
                    "denials": [record.__dict__ for record in self._denials]}

    def merge(self, saved: dict[str, Any]) -> None:
        """Add a recording saved by `to_json` (another test session's) to this one."""
        with self._lock:
            for role, usage in saved.get("roles", {}).items():
                mine = self._roles.setdefault(role, _RoleUsage())
                mine.granted.update(usage["granted"])
                mine.used.update(usage["used"])
            self._denials.extend(DenialRecord(**record) for record in saved.get("denials", []))

    def stale_reasons(self, explained: dict[str, dict[str, str]]) -> dict[str, list[str]]:
        """Grants whose reason says no test uses them, although a test did: the reason needs rewording."""
        used = self.used()
        stale = {role: sorted(a for a in reasons if any(glob_matches(a, u, ignore_case=True)
                                                        for u in used.get(role, [])))
                 for role, reasons in explained.items()}
        return {role: actions for role, actions in stale.items() if actions}

    def write_report(self, path: Path, explained: dict[str, dict[str, str]]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        unused = {role: [{"action": a, "kept_because": explained.get(role, {}).get(a)} for a in actions]
                  for role, actions in self.unused().items() if actions}
        report = {"unexplained_unused_grants": self.unexplained(explained), "unused_grants": unused,
                  "reasons_for_used_grants": self.stale_reasons(explained),
                  "used_actions": self.used(), "denials": [record.__dict__ for record in self.denials()]}
        path.write_text(json.dumps(report, indent=2) + "\n")


def explained_grants(template: dict[str, Any], stack_name: str) -> dict[str, dict[str, str]]:
    """Role label -> action -> why the grant is kept unexercised, from the roles' template metadata; every
    role of the template has an entry, empty where it explains nothing."""
    explained: dict[str, dict[str, str]] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::IAM::Role":
            continue
        label = role_label(f"{stack_name}-{logical_id}"[:_LABEL_LENGTH] + "-" + "X" * 12)
        explained.setdefault(label, {})
        for entry in resource.get("Metadata", {}).get(UNEXERCISED_METADATA, []):
            for action in entry["actions"]:
                explained.setdefault(label, {})[action] = entry["reason"]
    return explained


def union_of_sessions(folder: Path, session: str | None, recorder: GrantRecorder) -> GrantRecorder:
    """Save this session's recording as `session` in `folder` (one folder per template; None saves nothing),
    and return the union of every recording there. A session run again replaces its own earlier recording."""
    folder.mkdir(parents=True, exist_ok=True)
    if session is not None:
        (folder / f"{session}.json").write_text(json.dumps(recorder.to_json()) + "\n")
    union = GrantRecorder()
    for saved in sorted(folder.glob("*.json")):
        union.merge(json.loads(saved.read_text()))
    return union


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


RECORDER = GrantRecorder()  # process-wide: sandboxes come and go within one test session
