"""Steps 5 and 6: make sure the instance is still hung, then press the NMI button."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from panic_button.aws import error_code
from panic_button.errors import AlreadyHealthy, NotAuthorized, NotEligible
from panic_button.models.state import Interrupt


def instance_status(ec2: Any, instance_id: str) -> dict[str, str]:
    """State name and the two status-check summaries ('ok', 'impaired', 'initializing', ...)."""
    statuses = ec2.describe_instance_status(InstanceIds=[instance_id], IncludeAllInstances=True)[
        "InstanceStatuses"
    ]
    if not statuses:
        return {"state": "unknown", "instance": "unknown", "system": "unknown"}
    status = statuses[0]
    return {
        "state": status["InstanceState"]["Name"],
        "instance": status.get("InstanceStatus", {}).get("Status", "unknown"),
        "system": status.get("SystemStatus", {}).get("Status", "unknown"),
    }


def confirm_still_impaired(ec2: Any, instance_id: str) -> dict[str, str]:
    status = instance_status(ec2, instance_id)
    if status["state"] == "running" and status["instance"] == "ok":
        raise AlreadyHealthy(f"{instance_id} passes its instance status check again; no interrupt sent")
    if status["instance"] == "initializing":
        # Someone (or EC2) just restarted it: the hang is gone, and an NMI now would hit a booting kernel.
        raise AlreadyHealthy(f"{instance_id} is booting (instance status initializing); no interrupt sent")
    return status


def send_interrupt(ec2: Any, instance_id: str, *, dry_run: bool, now: datetime) -> Interrupt:
    try:
        ec2.send_diagnostic_interrupt(InstanceId=instance_id, DryRun=dry_run)
    except Exception as error:
        code = error_code(error)
        if dry_run and code == "DryRunOperation":
            return Interrupt(sent=False, permission_checked=True)
        if code == "UnauthorizedOperation":
            # IAM allows the interrupt only on opted-in instances; an SCP may deny it too.
            raise NotAuthorized(f"IAM denied SendDiagnosticInterrupt on {instance_id} (opt-in tag condition or "
                                f"an organization policy): {error}") from None
        if code == "UnsupportedOperation":
            raise NotEligible(f"{instance_id} does not support diagnostic interrupts: {error}") from None
        raise
    return Interrupt(sent=not dry_run, sent_at=None if dry_run else now, permission_checked=dry_run)
