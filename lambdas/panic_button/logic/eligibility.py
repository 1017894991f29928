"""Step 2: is this instance ours to interrupt? Opt-in tag, running state, and interrupt support."""

from __future__ import annotations

from typing import Any

from panic_button.aws import error_code
from panic_button.errors import NotAuthorized, NotEligible
from panic_button.models.state import InstanceFacts

_MISSING_INSTANCE_CODES = {"InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"}


def check_eligibility(ec2: Any, instance_id: str, *, tag_key: str, tag_value: str) -> InstanceFacts:
    instance = _describe(ec2, instance_id)
    state = instance["State"]["Name"]
    tags = {tag["Key"]: tag["Value"] for tag in instance.get("Tags", [])}
    # Authorization comes first: an instance that is not opted in is not ours to judge further.
    if tags.get(tag_key) != tag_value:
        found = f"{tag_key}={tags[tag_key]!r}" if tag_key in tags else f"no {tag_key} tag"
        raise NotAuthorized(f"{instance_id} is not opted in: {found}, expected {tag_key}={tag_value}")
    if state != "running":
        raise NotEligible(f"{instance_id} is {state}, not running")
    instance_type = instance["InstanceType"]
    support_problem = interrupt_support_problem(ec2, instance_type)
    if support_problem:
        raise NotEligible(f"{instance_id} ({instance_type}) {support_problem}")
    return InstanceFacts(
        instance_id=instance_id,
        instance_type=instance_type,
        platform="windows" if instance.get("Platform", "").lower() == "windows" else "linux",
        state=state,
        name=tags.get("Name"),
        availability_zone=instance.get("Placement", {}).get("AvailabilityZone"),
    )


def interrupt_support_problem(ec2: Any, instance_type: str) -> str | None:
    """Why this type cannot take a diagnostic interrupt, or None: Nitro types except A1; bare metal is
    supported (AWS SendDiagnosticInterrupt documentation)."""
    if instance_type.startswith("a1."):
        return "is an A1 type, which does not support diagnostic interrupts"
    try:
        described = ec2.describe_instance_types(InstanceTypes=[instance_type])["InstanceTypes"]
    except Exception as error:
        # EC2 answers an unknown type with an error, not an empty list.
        if error_code(error) != "InvalidInstanceType":
            raise
        described = []
    if not described:
        return "has an instance type that EC2 does not describe"
    info = described[0]
    if info.get("BareMetal"):
        return None
    hypervisor = info.get("Hypervisor", "")
    if hypervisor != "nitro":
        return f"runs on the {hypervisor or 'unknown'} hypervisor; diagnostic interrupts need Nitro"
    return None


def _describe(ec2: Any, instance_id: str) -> dict[str, Any]:
    try:
        reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    except Exception as error:
        if error_code(error) in _MISSING_INSTANCE_CODES:
            raise NotEligible(f"{instance_id} does not exist in this account and Region") from None
        raise
    instances = [i for r in reservations for i in r["Instances"]]
    if not instances:
        raise NotEligible(f"{instance_id} does not exist in this account and Region")
    return dict(instances[0])
