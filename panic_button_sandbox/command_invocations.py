"""The state of one SSM command on one instance, as GetCommandInvocation and ListCommandInvocations show it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.core.exceptions import JsonRESTError

STDOUT_LIMIT = 24_000  # GetCommandInvocation returns the first 24,000 characters of stdout
STDERR_LIMIT = 8_000  # and the first 8,000 of stderr; the full text goes to S3 when asked
PLUGIN_OUTPUT_LIMIT = 2_500  # ListCommandInvocations' CommandPlugins[].Output
# Not yet ended: CancelCommand still applies (Cancelling too: a second request changes nothing).
UNFINISHED = frozenset({"Pending", "InProgress", "Delayed", "Cancelling"})


@dataclass
class PluginRun:
    """One document step on one instance."""

    name: str
    applies: bool = True  # False: the step's precondition excludes this instance's platform
    status: str = "Pending"
    status_details: str = "Pending"
    response_code: int = -1
    stdout: str = ""
    stderr: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    stdout_url: str = ""
    stderr_url: str = ""


@dataclass
class CommandInvocation:
    command_id: str
    instance_id: str
    document_name: str
    comment: str
    output_s3_bucket: str
    output_s3_prefix: str
    plugins: list[PluginRun]
    requested_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    parameters: dict[str, list[str]] = field(default_factory=dict)  # as sent, for the command's event
    delivery_timeout_seconds: float = 600  # SendCommand's TimeoutSeconds (the event's expire-after)
    status: str = "Pending"
    status_details: str = "Pending"
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    cancelled: threading.Event = field(default_factory=threading.Event, repr=False)
    agent_lost: bool = False  # the agent dropped while it ran: nobody reports the status any more

    def request_cancel(self) -> bool:
        """CancelCommand on this instance: Cancelling now, Cancelled once the agent has stopped the
        script. False if the invocation had already ended (nothing changes then)."""
        with self.lock:
            if self.status not in UNFINISHED:
                return False
            self.status = self.status_details = "Cancelling"
            for plugin in self.plugins:
                if plugin.status in UNFINISHED:
                    plugin.status = plugin.status_details = "Cancelling"
            self.cancelled.set()
        return True

    def plugin_view(self, plugin_name: str | None) -> dict[str, Any]:
        """GetCommandInvocation's answer; a plugin name is needed when more than one step ran."""
        with self.lock:
            plugin = self._pick_plugin(plugin_name)
            view = {
                "CommandId": self.command_id,
                "InstanceId": self.instance_id,
                "Comment": self.comment,
                "DocumentName": self.document_name,
                "DocumentVersion": "$DEFAULT",
                "PluginName": plugin.name,
                "ResponseCode": plugin.response_code,
                "Status": plugin.status if plugin_name else self.status,
                "StatusDetails": plugin.status_details if plugin_name else self.status_details,
                "StandardOutputContent": plugin.stdout[:STDOUT_LIMIT],
                "StandardOutputUrl": plugin.stdout_url,
                "StandardErrorContent": plugin.stderr[:STDERR_LIMIT],
                "StandardErrorUrl": plugin.stderr_url,
                "ExecutionStartDateTime": _iso(plugin.started_at),
                "ExecutionEndDateTime": _iso(plugin.finished_at),
                "ExecutionElapsedTime": _elapsed(plugin.started_at, plugin.finished_at),
            }
        return view

    def list_entry(self, details: bool) -> dict[str, Any]:
        with self.lock:
            entry: dict[str, Any] = {
                "CommandId": self.command_id,
                "InstanceId": self.instance_id,
                "Comment": self.comment,
                "DocumentName": self.document_name,
                "DocumentVersion": "$DEFAULT",
                "RequestedDateTime": self.requested_at,
                "Status": self.status,
                "StatusDetails": self.status_details,
                "CommandPlugins": [],
            }
            if details:
                entry["CommandPlugins"] = [self._plugin_entry(plugin) for plugin in self.plugins]
        return entry

    def _pick_plugin(self, plugin_name: str | None) -> PluginRun:
        if plugin_name is not None:
            for plugin in self.plugins:
                if plugin.name == plugin_name:
                    return plugin
            raise JsonRESTError("InvocationDoesNotExist", f"No plugin {plugin_name} in this invocation.")
        ran = [plugin for plugin in self.plugins if plugin.applies]
        if len(ran) > 1:
            raise JsonRESTError("InvalidPluginName", "The document ran more than one step: name a PluginName.")
        return (ran or self.plugins)[0]

    def _plugin_entry(self, plugin: PluginRun) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "Name": plugin.name,
            "Status": plugin.status,
            "StatusDetails": plugin.status_details,
            "ResponseCode": plugin.response_code,
            "Output": (plugin.stdout + plugin.stderr)[:PLUGIN_OUTPUT_LIMIT],
            "StandardOutputUrl": plugin.stdout_url,
            "StandardErrorUrl": plugin.stderr_url,
            "OutputS3BucketName": self.output_s3_bucket,
            "OutputS3KeyPrefix": self.output_s3_prefix,
        }
        if plugin.started_at is not None:
            entry["ResponseStartDateTime"] = plugin.started_at
        if plugin.finished_at is not None:
            entry["ResponseFinishDateTime"] = plugin.finished_at
        return entry


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _elapsed(started: datetime | None, finished: datetime | None) -> str:
    if started is None or finished is None:
        return ""
    return f"PT{(finished - started).total_seconds():.3f}S"
