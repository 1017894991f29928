"""What counts as a reason for accepting a finding: one rule for cdk-nag, checkov and parliament."""

from __future__ import annotations

LAZY_REASONS = {"ok", "n/a", "na", "none", "todo", "suppressed", "false positive", "not applicable", "by design",
                "no comment provided"}  # the last is what checkov records for a skip without a comment
MIN_REASON_LENGTH = 30


def is_vague(reason: str) -> bool:
    return len(reason.strip()) < MIN_REASON_LENGTH or reason.strip(" .").lower() in LAZY_REASONS
