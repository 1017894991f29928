"""SSM Run Command's EventBridge events for the sandbox's commands: on every status change of an invocation,
"EC2 Command Invocation Status-change Notification" and "EC2 Command Status-change Notification" (source
aws.ssm) on the default bus, shaped as the Systems Manager User Guide's EventBridge examples show them
(monitoring-systems-manager-event-examples: kebab-case detail keys, ISO dates, the instance ARN in
`resources`). Added: stock moto emits no event for a command. They are put with PutEvents, so they reach
targets only through the rules' real patterns. Every command here targets one instance, so the command's
status is its one invocation's."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.events.models import events_backends

from panic_button_sandbox.command_invocations import CommandInvocation

_LOG = logging.getLogger(__name__)
SOURCE = "aws.ssm"
INVOCATION_CHANGE = "EC2 Command Invocation Status-change Notification"
COMMAND_CHANGE = "EC2 Command Status-change Notification"


class CommandEvents:
    """Puts each status change of a sandbox invocation on the default bus of `account` in `region`."""

    def __init__(self, account: str, region: str) -> None:
        self.account, self.region = account, region

    def status_changed(self, invocation: CommandInvocation) -> None:
        try:
            events_backends[self.account][self.region].put_events(self.entries(invocation))
        except Exception:  # Run Command's delivery to EventBridge is best effort; the command goes on
            _LOG.exception("no status change event for command %s", invocation.command_id)

    def entries(self, invocation: CommandInvocation) -> list[dict[str, Any]]:
        with invocation.lock:
            status = invocation.status
        instance_arn = f"arn:aws:ec2:{self.region}:{self.account}:instance/{invocation.instance_id}"
        requested = _iso(invocation.requested_at)
        common = {"Source": SOURCE, "Resources": [instance_arn], "Time": datetime.now(UTC).timestamp()}
        return [
            {**common, "DetailType": INVOCATION_CHANGE, "Detail": json.dumps({
                "command-id": invocation.command_id, "document-name": invocation.document_name,
                "instance-id": invocation.instance_id, "requested-date-time": requested, "status": status})},
            {**common, "DetailType": COMMAND_CHANGE, "Detail": json.dumps({
                "command-id": invocation.command_id, "document-name": invocation.document_name,
                "expire-after": _iso(invocation.requested_at
                                     + timedelta(seconds=invocation.delivery_timeout_seconds)),
                "parameters": invocation.parameters, "requested-date-time": requested, "status": status})},
        ]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
