"""Step 2: is this instance ours to interrupt? Opt-in tag, running state, and interrupt support."""

from __future__ import annotations

from typing import Any

from panic_button.aws import error_code
from panic_button.errors import NotAuthorized, NotEligible
from panic_button.logic.interrupt_support import support_problems
from panic_button.models.state import InstanceFacts

_MISSING_INSTANCE_CODES = {"InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"}


def check_eligibility(ec2: Any, instance_id: str, *, tag_key: str, tag_value: str,
                      approval_value: str | None = None) -> InstanceFacts:
    """`approval_value` opts in too, but the workflow then waits for a person before the interrupt."""
    instance = _describe(ec2, instance_id)
    state = instance["State"]["Name"]
    tags = {tag["Key"]: tag["Value"] for tag in instance.get("Tags", [])}
    # Authorization comes first: an instance that is not opted in is not ours to judge further.
    accepted = [tag_value, *([approval_value] if approval_value else [])]
    if tags.get(tag_key) not in accepted:
        found = f"{tag_key}={tags[tag_key]!r}" if tag_key in tags else f"no {tag_key} tag"
        expected = " or ".join(f"{tag_key}={value}" for value in accepted)
        raise NotAuthorized(f"{instance_id} is not opted in: {found}, expected {expected}")
    if state != "running":
        raise NotEligible(f"{instance_id} is {state}, not running")
    instance_type = instance["InstanceType"]
    support_problem = support_problems(ec2, [instance_type])[instance_type]
    if support_problem:
        raise NotEligible(f"{instance_id} cannot take a diagnostic interrupt: {support_problem}")
    return InstanceFacts(
        instance_id=instance_id,
        instance_type=instance_type,
        platform="windows" if instance.get("Platform", "").lower() == "windows" else "linux",
        state=state,
        name=tags.get("Name"),
        availability_zone=instance.get("Placement", {}).get("AvailabilityZone"),
        approval_required=approval_value is not None and tags.get(tag_key) == approval_value,
    )


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
