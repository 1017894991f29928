"""What resource creators share: clients, names, and the lists a deployment reports."""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from panic_button_sandbox.deploy.model import DeployedFunction

_SUFFIX_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class Created:
    physical_id: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class StackContext:
    stack_name: str
    region: str
    account_id: str
    assets_dir: Path
    client: Callable[[str], Any]
    notes: list[str] = field(default_factory=list)
    functions: list[DeployedFunction] = field(default_factory=list)
    bucket_policies: dict[str, str] = field(default_factory=dict)
    access_logs: dict[str, tuple[str, str]] = field(default_factory=dict)  # bucket -> (target bucket, prefix)

    def name(self, logical_id: str, max_length: int, lowercase: bool = False, suffix: str = "") -> str:
        """A physical name like CloudFormation's: <stack>-<logical id>-<random>, cut to fit."""
        random_part = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(12))
        keep = max_length - len(random_part) - len(suffix) - 1
        name = f"{f'{self.stack_name}-{logical_id}'[:keep]}-{random_part}{suffix}"
        return name.lower() if lowercase else name

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account_id if account else ''}:{resource}"

    def note(self, logical_id: str, text: str) -> None:
        self.notes.append(f"{logical_id}: {text}")


def as_json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def pick(properties: dict[str, Any], *names: str) -> dict[str, Any]:
    """The named properties that are present (CloudFormation and API names agree for these)."""
    return {name: properties[name] for name in names if name in properties}


def tags(properties: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": str(tag["Key"]), "Value": str(tag["Value"])} for tag in properties.get("Tags", [])]
