"""AWS reads and the one command `panic-button readiness` sends: the stack's readiness outputs, the
instances to check, their SSM agents, and the readiness document's run on each."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from botocore.exceptions import ClientError
from panic_button.aws import error_code

from panic_button_cli.operations.errors import OperatorError
from panic_button_cli.operations.readiness_checks import CommandOutcome, InstanceFacts

SEND_COMMAND_BATCH = 50  # SendCommand's limit on InstanceIds
FILTER_BATCH = 50  # DescribeInstanceInformation's limit on InstanceIds filter values
EC2_FILTER_BATCH = 200  # EC2's limit on values in one filter
DELIVERY_TIMEOUT_SECONDS = 60  # an online agent takes the command in seconds; SendCommand's minimum is 30
_FINAL_STATUSES = {"Success", "Failed", "Cancelled", "TimedOut"}


@dataclass(frozen=True)
class PollOptions:
    poll_seconds: float = 1.0
    timeout_seconds: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = field(default=time.monotonic)


def opted_in_instances(ec2: Any, tag_key: str, tag_value: str) -> list[InstanceFacts]:
    """Running instances that carry the opt-in tag."""
    filters = [{"Name": "instance-state-name", "Values": ["running"]},
               {"Name": f"tag:{tag_key}", "Values": [tag_value]}]
    return [_facts(raw, tag_key, tag_value) for raw in _described(ec2, filters)]


def listed_instances(ec2: Any, instance_ids: list[str], tag_key: str, tag_value: str) -> list[InstanceFacts]:
    """The named instances in any state; an ID EC2 does not know is an error the operator fixes."""
    found: dict[str, InstanceFacts] = {}
    for start in range(0, len(instance_ids), EC2_FILTER_BATCH):
        # A filter, not InstanceIds: one unknown ID must not hide what the others are.
        batch = {"Name": "instance-id", "Values": instance_ids[start:start + EC2_FILTER_BATCH]}
        found.update((raw["InstanceId"], _facts(raw, tag_key, tag_value)) for raw in _described(ec2, [batch]))
    unknown = [instance_id for instance_id in instance_ids if instance_id not in found]
    if unknown:
        raise OperatorError(f"{', '.join(unknown)} not found in {ec2.meta.region_name}",
                            "check the instance ID and --region")
    return [found[instance_id] for instance_id in dict.fromkeys(instance_ids)]


def with_agents(ssm: Any, instances: list[InstanceFacts]) -> list[InstanceFacts]:
    """The instances with their SSM agent's ping status and platform type (DescribeInstanceInformation)."""
    agents: dict[str, dict[str, Any]] = {}
    ids = [instance.instance_id for instance in instances]
    for start in range(0, len(ids), FILTER_BATCH):
        pages = ssm.get_paginator("describe_instance_information").paginate(
            Filters=[{"Key": "InstanceIds", "Values": ids[start:start + FILTER_BATCH]}])
        for page in pages:
            agents.update((info["InstanceId"], info) for info in page.get("InstanceInformationList", []))
    updated = []
    for instance in instances:
        info = agents.get(instance.instance_id, {})
        ping = str(info.get("PingStatus", "not managed by Systems Manager"))
        updated.append(replace(instance, agent_online=ping == "Online", ping_status=ping,
                               platform_type=info.get("PlatformType")))
    return updated


def run_document(ssm: Any, document_name: str, steps: dict[str, str], options: PollOptions
                 ) -> dict[str, CommandOutcome]:
    """Send the document to the instances (ID -> step name to read) and wait for each result."""
    pending: dict[str, tuple[str, str]] = {}  # instance -> (command id, step)
    ids = list(steps)
    for start in range(0, len(ids), SEND_COMMAND_BATCH):
        batch = ids[start:start + SEND_COMMAND_BATCH]
        command = ssm.send_command(InstanceIds=batch, DocumentName=document_name,
                                   Comment="panic-button readiness", TimeoutSeconds=DELIVERY_TIMEOUT_SECONDS)
        pending.update((instance_id, (command["Command"]["CommandId"], steps[instance_id])) for instance_id in batch)
    deadline = options.clock() + options.timeout_seconds
    outcomes: dict[str, CommandOutcome] = {}
    while True:
        for instance_id, (command_id, step) in list(pending.items()):
            outcome = _invocation(ssm, command_id, instance_id, step)
            if outcome is not None:
                outcomes[instance_id] = outcome
                del pending[instance_id]
        if not pending or options.clock() >= deadline:
            break
        options.sleep(options.poll_seconds)
    for instance_id in pending:
        outcomes[instance_id] = CommandOutcome(status=f"no result within {options.timeout_seconds:.0f} s")
    return outcomes


def _invocation(ssm: Any, command_id: str, instance_id: str, step: str) -> CommandOutcome | None:
    """The finished invocation, or None while it runs (or is not yet visible, as right after SendCommand)."""
    try:
        answer = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id, PluginName=step)
    except ClientError as error:
        if error_code(error) == "InvocationDoesNotExist":
            return None
        raise
    if answer["Status"] not in _FINAL_STATUSES:
        return None
    return CommandOutcome(status=str(answer.get("StatusDetails") or answer["Status"]),
                          stdout=str(answer.get("StandardOutputContent", "")),
                          stderr=str(answer.get("StandardErrorContent", "")))


def _described(ec2: Any, filters: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
        for reservation in page["Reservations"]:
            yield from reservation["Instances"]


def _facts(raw: dict[str, Any], tag_key: str, tag_value: str) -> InstanceFacts:
    tags = {tag["Key"]: tag["Value"] for tag in raw.get("Tags", [])}
    return InstanceFacts(instance_id=raw["InstanceId"], instance_type=raw["InstanceType"],
                         state=raw["State"]["Name"], opted_in=tags.get(tag_key) == tag_value, name=tags.get("Name"))
