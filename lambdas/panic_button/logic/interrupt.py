"""Steps 5 and 6: make sure the instance is still hung, then press the NMI button."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError

from panic_button.aws import AwsUnavailable, error_code, is_throttling
from panic_button.dal.guard_store import GuardStore
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


def send_interrupt_once(ec2: Any, guards: GuardStore, instance_id: str, *, owner: str, attempt: str,
                        now: datetime) -> Interrupt:
    """Press the button at most once per execution, however often Step Functions runs this step: a Lambda
    service error after the handler ran, or a crash after the call, runs it again. The attempt claims the
    interrupt first; a later attempt that finds an earlier one's claim reports that one's interrupt as sent."""
    claimed_at = guards.claim_interrupt(instance_id, owner, attempt=attempt, at=int(now.timestamp()))
    if claimed_at is not None:
        return Interrupt(sent=True, sent_at=datetime.fromtimestamp(claimed_at, tz=now.tzinfo),
                         unconfirmed="" if guards.interrupt_confirmed(instance_id, owner) else
                         "an earlier attempt of this step reached EC2 without its answer; not resent")
    try:
        interrupt = send_interrupt(ec2, instance_id, dry_run=False, now=now)
    except Exception:  # EC2 refused it (throttled, denied, unsupported): nothing went out
        guards.release_interrupt_claim(instance_id, attempt=attempt)
        raise
    if not interrupt.unconfirmed:
        guards.confirm_interrupt(instance_id, attempt=attempt)
    return interrupt


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
        if not dry_run and not is_throttling(error) and isinstance(error, AwsUnavailable | BotoCoreError):
            # A 5xx or a lost answer may come after EC2 sent the NMI: assume it went out, never send a second.
            # (Throttling is a refusal: it is raised, and the step's Retry sends the interrupt again.)
            return Interrupt(sent=True, sent_at=now, unconfirmed=f"EC2 answered {code or type(error).__name__}; "
                                                                 "the interrupt may have gone out and is not resent")
        raise
    return Interrupt(sent=not dry_run, sent_at=None if dry_run else now, permission_checked=dry_run)
