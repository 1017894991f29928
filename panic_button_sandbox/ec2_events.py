"""The EC2 events AWS puts on the default bus and moto does not: instance state changes and tag changes.

Added: "EC2 Instance State-change Notification" (source aws.ec2) after RunInstances, StopInstances,
StartInstances and TerminateInstances, and "Tag Change on Resource" (source aws.tag) after CreateTags and
DeleteTags on instances. moto changes state at once; the events still pass through the transitional state
(pending, stopping, shutting-down) before the resting one, in order, as EC2 reports them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import InvalidInstanceIdError
from moto.ec2.responses import EC2Response
from moto.events.models import events_backends

from panic_button_sandbox.patches import Patches

INSTANCE_STATE_CHANGE = "EC2 Instance State-change Notification"
TAG_CHANGE = "Tag Change on Resource"
# What EC2 reports on the way to each resting state moto jumps to.
_STATES_ON_THE_WAY_TO = {
    "running": ("pending", "running"),
    "stopped": ("stopping", "stopped"),
    "terminated": ("shutting-down", "terminated"),
}
_STATE_OPERATIONS = ("stop_instances", "start_instances", "terminate_instances")
_TAG_OPERATIONS = ("create_tags", "delete_tags")


class _TagVersions:
    """The per-resource tag version "Tag Change on Resource" carries: it grows by one with each change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[str, int] = {}

    def next(self, resource_id: str) -> int:
        with self._lock:
            self._versions[resource_id] = self._versions.get(resource_id, 0) + 1
            return self._versions[resource_id]


def install_ec2_events(patches: Patches) -> None:
    versions = _TagVersions()
    patches.replace(EC2Response, "run_instances", _with_launch_events(EC2Response.run_instances))
    for name in _STATE_OPERATIONS:
        patches.replace(EC2Response, name, _with_state_events(getattr(EC2Response, name)))
    for name in _TAG_OPERATIONS:
        patches.replace(EC2Response, name, _with_tag_events(getattr(EC2Response, name), versions))


def _with_launch_events(stock: Callable[[EC2Response], ActionResult]) -> Callable[[EC2Response], ActionResult]:
    def run_instances(self: EC2Response) -> ActionResult:
        result = stock(self)
        for instance in result.result.instances:  # type: ignore[attr-defined]  # moto's Reservation
            _emit_state_changes(self, instance.id, None, instance.state)
        return result

    return run_instances


def _with_state_events(stock: Callable[[EC2Response], Any]) -> Callable[[EC2Response], Any]:
    def operation(self: EC2Response) -> Any:
        instance_ids = self._get_param("InstanceIds", [])
        before = {instance_id: _state(self, instance_id) for instance_id in instance_ids}
        response = stock(self)  # validates, honours DryRun and raises like EC2 before anything changes
        for instance_id in instance_ids:
            _emit_state_changes(self, instance_id, before[instance_id], _state(self, instance_id))
        return response

    return operation


def _with_tag_events(stock: Callable[[EC2Response], Any], versions: _TagVersions) -> Callable[[EC2Response], Any]:
    def operation(self: EC2Response) -> Any:
        instance_ids = [rid for rid in self._get_param("Resources", []) if rid.startswith("i-")]
        before = {instance_id: _tags(self, instance_id) for instance_id in instance_ids}
        response = stock(self)
        for instance_id in instance_ids:
            after = _tags(self, instance_id)
            changed = sorted(
                key
                for key in before[instance_id].keys() | after.keys()
                if before[instance_id].get(key) != after.get(key)
            )
            if changed:  # a call that changes nothing emits nothing
                detail = {
                    "changed-tag-keys": changed,
                    "service": "ec2",
                    "resource-type": "instance",
                    "version": versions.next(instance_id),
                    "tags": after,
                }
                _put_event(self, "aws.tag", TAG_CHANGE, instance_id, detail)
        return response

    return operation


def _emit_state_changes(response: EC2Response, instance_id: str, before: str | None, after: str | None) -> None:
    if after is None or after == before:
        return
    for state in _STATES_ON_THE_WAY_TO.get(after, (after,)):
        _put_event(
            response, "aws.ec2", INSTANCE_STATE_CHANGE, instance_id, {"instance-id": instance_id, "state": state}
        )


def _state(response: EC2Response, instance_id: str) -> str | None:
    try:
        return str(response.ec2_backend.get_instance(instance_id).state)
    except InvalidInstanceIdError:
        return None  # the stock operation raises the error for the caller


def _tags(response: EC2Response, instance_id: str) -> dict[str, str]:
    return dict(response.ec2_backend.tags.get(instance_id, {}))


def _put_event(response: EC2Response, source: str, detail_type: str, instance_id: str, detail: dict[str, Any]) -> None:
    arn = f"arn:{response.partition}:ec2:{response.region}:{response.current_account}:instance/{instance_id}"
    events = events_backends[response.current_account][response.region]
    events.put_events([{"Source": source, "DetailType": detail_type, "Resources": [arn], "Detail": json.dumps(detail)}])
