"""After NOT_RECOVERED: optionally reboot the instance so it has one more chance to come back, unless
its console shows the crash kernel still writing the dump (a reboot then would destroy it)."""

from __future__ import annotations

from typing import Any, Literal

from panic_button.logic.serial_console import kdump_still_writing, read_console
from panic_button.models.state import Fallback


def apply_fallback(ec2: Any, instance_id: str, action: Literal["none", "reboot"]) -> Fallback:
    if action == "none":
        return Fallback(action="none", detail="no fallback configured; a human must look at the instance")
    if kdump_still_writing(read_console(ec2, instance_id)):
        return Fallback(action="none", detail=f"reboot withheld: the console of {instance_id} shows kdump still "
                                              "saving the dump; a reboot now would destroy it")
    ec2.reboot_instances(InstanceIds=[instance_id])
    return Fallback(action="reboot", detail=f"reboot requested for {instance_id}; the crash dump may be lost")

