"""After NOT_RECOVERED: optionally reboot the instance so it has one more chance to come back, unless
its console shows the crash kernel still writing the dump (a reboot then would destroy it)."""

from __future__ import annotations

import re
from typing import Any, Literal

from panic_button.models.state import Fallback

# What kdump-tools, kdumpctl and makedumpfile print while the capture kernel saves the dump.
KDUMP_AT_WORK = re.compile(
    r"kdump: saving vmcore|kdump-tools\[\d+\]: .*(saving|running makedumpfile)|Copying data\s*:|"
    r"makedumpfile .*(Copying|Excluding)|Saving to the local filesystem|Starting Kdump Vmcore Save Service",
    re.IGNORECASE,
)
CONSOLE_TAIL_CHARS = 8192


def kdump_still_writing(console_text: str) -> bool:
    return KDUMP_AT_WORK.search(console_text[-CONSOLE_TAIL_CHARS:]) is not None


def apply_fallback(ec2: Any, instance_id: str, action: Literal["none", "reboot"]) -> Fallback:
    if action == "none":
        return Fallback(action="none", detail="no fallback configured; a human must look at the instance")
    # botocore has already base64-decoded Output: plain text.
    console = str(ec2.get_console_output(InstanceId=instance_id, Latest=True).get("Output") or "")
    if kdump_still_writing(console):
        return Fallback(action="none", detail=f"reboot withheld: the console of {instance_id} shows kdump still "
                                              "saving the dump; a reboot now would destroy it")
    ec2.reboot_instances(InstanceIds=[instance_id])
    return Fallback(action="reboot", detail=f"reboot requested for {instance_id}; the crash dump may be lost")

