"""parliament (with its community auditors) on one policy document, each finding tied to the IAM actions
it concerns so an acceptance can name it by finding id and statement."""

from __future__ import annotations

import json
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any

import parliament
from policy_documents import Acceptance, PolicyDocument


@dataclass(frozen=True)
class Finding:
    owner: str
    issue: str
    severity: str
    actions: frozenset[str]  # lower case: the statement's Action patterns and the actions the finding names
    detail: str

    def accepted_by(self, acceptance: Acceptance) -> bool:
        return acceptance.finding == self.issue and {a.lower() for a in acceptance.actions} <= self.actions


@cache
def _load_community_config() -> None:
    # The community auditors' finding types (PERMISSIONS_MANAGEMENT_ACTIONS, ...) live in their own config,
    # which parliament's CLI merges in for --include-community-auditors.
    parliament.override_config(Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml")


def analyze(policy: PolicyDocument) -> list[Finding]:
    _load_community_config()
    statements = policy.document["Statement"]
    statements = statements if isinstance(statements, list) else [statements]
    # One statement per line: parliament reports a JSON line, which then names the statement.
    version = json.dumps(policy.document.get("Version", "2012-10-17"))
    text = ('{"Version": ' + version + ', "Statement": [\n'
            + ",\n".join(json.dumps(statement) for statement in statements) + "\n]}")
    result = parliament.analyze_policy_string(text, filepath=policy.owner, ignore_private_auditors=True,
                                              include_community_auditors=True)
    findings = []
    for raw in result.findings:
        finding = parliament.enhance_finding(raw)
        named = _named_actions(finding.location, finding.detail)
        line = finding.location.get("line") or finding.location.get("lineno")
        own = [statements[line - 2]] if isinstance(line, int) and 2 <= line < len(statements) + 2 else \
            [s for s in statements if any(_covers(s, action) for action in named)]
        patterns = {str(action).lower() for statement in own for action in _as_list(statement.get("Action", []))}
        findings.append(Finding(policy.owner, finding.issue, finding.severity, frozenset(named | patterns),
                                json.dumps(finding.detail, default=str)[:300]))
    return findings


def _named_actions(location: dict[str, Any], detail: Any) -> set[str]:
    named = [*location.get("actions", [])]
    for item in detail if isinstance(detail, list) else []:
        named.append(item.get("action", "") if isinstance(item, dict) else item)
    return {str(action).lower() for action in named if ":" in str(action)}


def _covers(statement: dict[str, Any], action: str) -> bool:
    return any(fnmatchcase(action, str(pattern).lower()) for pattern in _as_list(statement.get("Action", [])))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
