"""After NOT_RECOVERED: optionally reboot the instance so it has one more chance to come back."""

from __future__ import annotations

from typing import Any, Literal

from panic_button.models.state import Fallback


def apply_fallback(ec2: Any, instance_id: str, action: Literal["none", "reboot"]) -> Fallback:
    if action == "none":
        return Fallback(action="none", detail="no fallback configured; a human must look at the instance")
    ec2.reboot_instances(InstanceIds=[instance_id])
    return Fallback(action="reboot", detail=f"reboot requested for {instance_id}; the crash dump may be lost")
