"""Which instance `start` asks the workflow to rescue: an ID in the stack's account, an ID with `--account` for an
organization member's, or an instance ARN, which names its account and Region."""

from __future__ import annotations

import re
from dataclasses import dataclass

from panic_button.errors import InvalidInput
from panic_button.logic.targets import validate_instance_id, validate_location

_INSTANCE_ARN = re.compile(r"arn:aws[a-z-]*:ec2:(?P<region>[^:]+):(?P<account>[^:]+):instance/(?P<instance>.+)")


@dataclass(frozen=True)
class Where:
    """The instance to rescue and, for a member's instance (organization hub), its account and Region."""

    instance_id: str
    account: str | None = None
    region: str | None = None


def parse_instance(value: str, account: str | None = None) -> Where:
    """An instance ID (with `--account` for a member's) or an instance ARN, which names account and Region."""
    arn = _INSTANCE_ARN.fullmatch(value)
    if arn is None:
        return Where(validate_instance_id(value), *validate_location(account, None))
    if account is not None and account != arn["account"]:
        raise InvalidInput(f"--account {account} differs from the ARN's account {arn['account']}")
    return Where(validate_instance_id(arn["instance"]), *validate_location(arn["account"], arn["region"]))
