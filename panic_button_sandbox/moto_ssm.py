"""SSM actions for simulated instances: run documents for real, report agents and invocations.

Replaced or added: SendCommand/GetCommandInvocation (stock: instant Success, nothing runs),
ListCommandInvocations, DescribeInstanceInformation and CancelCommand (stock: NotImplementedError, HTTP 500).
Commands to instances the sandbox does not simulate keep moto's stock answers.
"""

from __future__ import annotations

from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.ssm.responses import SimpleSystemManagerResponse

from panic_button_sandbox.command_invocations import CommandInvocation, PluginRun
from panic_button_sandbox.command_runner import DEFAULT_DELIVERY_TIMEOUT_SECONDS, CommandRunner
from panic_button_sandbox.instances import InstanceFleet, SimulatedInstance
from panic_button_sandbox.patches import Patches
from panic_button_sandbox.ssm_documents import CommandDocument, InvalidDocument, InvalidParameters

_PLATFORM_NAMES = {
    "rhel": ("Red Hat Enterprise Linux", "9.4"),
    "amazon-linux": ("Amazon Linux", "2023"),
    "debian": ("Debian GNU/Linux", "12"),
    "ubuntu": ("Ubuntu", "24.04"),
    "none": ("Amazon Linux", "2023"),
    "windows": ("Microsoft Windows Server 2022 Datacenter", "10.0.20348"),
}


def install_ssm_extensions(patches: Patches, fleet: InstanceFleet, runner: CommandRunner) -> None:
    def send_command(self: SimpleSystemManagerResponse) -> ActionResult:
        targets = [fleet.get(i) for i in self._get_param("InstanceIds", [])]
        simulated = [instance for instance in targets if instance is not None]
        if not simulated:
            stock: ActionResult = stock_send_command(self)
            return stock
        document, parameters = _checked_document(self, simulated)
        response: ActionResult = stock_send_command(self)
        command = response.result["Command"]  # type: ignore[index]
        # moto adds every instance to a command sent without Targets; AWS lists the ones asked for.
        command["InstanceIds"] = self._get_param("InstanceIds")
        delivery_timeout = self._get_int_param("TimeoutSeconds") or DEFAULT_DELIVERY_TIMEOUT_SECONDS
        for instance in simulated:
            invocation = CommandInvocation(
                command_id=command["CommandId"],
                instance_id=instance.instance_id,
                document_name=document.name,
                comment=self._get_param("Comment", ""),
                output_s3_bucket=self._get_param("OutputS3BucketName", ""),
                output_s3_prefix=self._get_param("OutputS3KeyPrefix", ""),
                plugins=[
                    PluginRun(name=step.name, applies=step.runs_on(instance.platform_type)) for step in document.steps
                ],
                parameters=parameters,
                delivery_timeout_seconds=delivery_timeout,
            )
            runner.start(invocation, instance, document, parameters, delivery_timeout)
        return response

    def get_command_invocation(self: SimpleSystemManagerResponse) -> Any:
        invocation = runner.find(self._get_param("CommandId"), self._get_param("InstanceId"))
        if invocation is None:
            return stock_get_command_invocation(self)
        return ActionResult(invocation.plugin_view(self._get_param("PluginName")))

    def list_command_invocations(self: SimpleSystemManagerResponse) -> ActionResult:
        command_id, instance_id = self._get_param("CommandId"), self._get_param("InstanceId")
        details = bool(self._get_param("Details", False))
        entries = [
            invocation.list_entry(details)
            for invocation in runner.all()
            if command_id in (None, invocation.command_id) and instance_id in (None, invocation.instance_id)
        ]
        ours = {invocation.command_id for invocation in runner.all()}
        for command in self.ssm_backend.list_commands(command_id, None):
            if command.command_id in ours:
                continue
            for stock in command.invocations:
                if instance_id in (None, stock["InstanceId"]):
                    entries.append(_stock_entry(command, stock, details))
        return ActionResult({"CommandInvocations": entries})

    def describe_instance_information(self: SimpleSystemManagerResponse) -> ActionResult:
        wanted = _instance_id_filter(self)
        information = [
            _instance_information(instance)
            for instance in fleet.all()
            if wanted is None or instance.instance_id in wanted
        ]
        return ActionResult({"InstanceInformationList": information})

    stock_send_command = patches.replace(SimpleSystemManagerResponse, "send_command", send_command)
    stock_get_command_invocation = patches.replace(
        SimpleSystemManagerResponse, "get_command_invocation", get_command_invocation
    )
    patches.replace(SimpleSystemManagerResponse, "list_command_invocations", list_command_invocations)
    patches.replace(SimpleSystemManagerResponse, "describe_instance_information", describe_instance_information)
    _install_cancel_command(patches, runner)


def _install_cancel_command(patches: Patches, runner: CommandRunner) -> None:
    def cancel_command(self: SimpleSystemManagerResponse) -> ActionResult:
        _cancel(self, runner)
        return ActionResult({})

    patches.replace(SimpleSystemManagerResponse, "cancel_command", cancel_command)


def _cancel(response: SimpleSystemManagerResponse, runner: CommandRunner) -> None:
    command_id, asked = response._get_param("CommandId"), response._get_param("InstanceIds") or None
    ours = [invocation for invocation in runner.all() if invocation.command_id == command_id]
    if not ours:
        response.ssm_backend.get_command_by_id(command_id)  # InvalidCommandId for an id SSM never issued
        raise _already_ended(command_id)  # moto's own commands end the moment they are sent
    unknown = sorted(set(asked or ()) - {invocation.instance_id for invocation in ours})
    if unknown:
        raise JsonRESTError("InvalidInstanceId", f"Command {command_id} was not sent to {', '.join(unknown)}.")
    chosen = [invocation for invocation in ours if asked is None or invocation.instance_id in asked]
    cancelled = [runner.cancel(invocation) for invocation in chosen]  # every one, not up to the first
    if not any(cancelled):
        raise _already_ended(command_id)


def _already_ended(command_id: str) -> JsonRESTError:
    """CancelCommand for a command that has ended everywhere it was asked to stop. The API reference
    (API_CancelCommand, Errors) documents HTTP 200 with an empty body for a request it accepts and
    InvalidCommandId (400, "The specified command ID isn't valid") for the rest; it does not say which
    an ended command gets. The sandbox answers InvalidCommandId, the answer a caller must be ready for:
    AbandonCollection counts both answers as "already ended"."""
    return JsonRESTError("InvalidCommandId", f"Command {command_id} has already ended: it cannot be cancelled.")


def _checked_document(
    response: SimpleSystemManagerResponse, instances: list[SimulatedInstance]
) -> tuple[CommandDocument, dict[str, list[str]]]:
    """Validate before anything is created, so a rejected SendCommand leaves no command behind."""
    for instance in instances:
        if instance.spec.state != "running":
            raise JsonRESTError("InvalidInstanceId", f"Instance {instance.instance_id} is not in a valid state.")
    name = response._get_param("DocumentName")
    try:
        backend: Any = response.ssm_backend  # moto types version_name as str; None means "any"
        stored = backend.get_document(name, response._get_param("DocumentVersion"), None, "JSON")
        document = CommandDocument.parse(name, stored["Content"])
        return document, document.resolve_parameters(response._get_param("Parameters", {}))
    except InvalidParameters as error:
        raise JsonRESTError("InvalidParameters", str(error)) from error
    except InvalidDocument as error:
        raise JsonRESTError("InvalidDocument", str(error)) from error


def _stock_entry(command: Any, invocation: dict[str, Any], details: bool) -> dict[str, Any]:
    plugin = {
        "Name": invocation["PluginName"],
        "Status": invocation["Status"],
        "StatusDetails": invocation["StatusDetails"],
        "ResponseCode": invocation["ResponseCode"],
        "Output": invocation["StandardOutputContent"],
    }
    return {
        "CommandId": command.command_id,
        "InstanceId": invocation["InstanceId"],
        "Comment": command.comment,
        "DocumentName": command.document_name,
        "RequestedDateTime": command.requested_date_time,
        "Status": invocation["Status"],
        "StatusDetails": invocation["StatusDetails"],
        "CommandPlugins": [plugin] if details else [],
    }


def _instance_id_filter(response: SimpleSystemManagerResponse) -> set[str] | None:
    wanted: set[str] | None = None
    for item in response._get_param("InstanceInformationFilterList", []):
        if item.get("key") == "InstanceIds":
            wanted = (wanted or set()) | set(item.get("valueSet", []))
    for item in response._get_param("Filters", []):
        if item.get("Key") == "InstanceIds":
            wanted = (wanted or set()) | set(item.get("Values", []))
    return wanted


def _instance_information(instance: SimulatedInstance) -> dict[str, Any]:
    health = instance.health()
    platform_name, platform_version = _PLATFORM_NAMES[instance.spec.layout]
    return {
        "InstanceId": instance.instance_id,
        "PingStatus": "Online" if health.agent_online else "ConnectionLost",
        "LastPingDateTime": health.last_ping,
        "AgentVersion": "3.3.1142.0",
        "IsLatestVersion": False,
        "PlatformType": instance.platform_type,
        "PlatformName": platform_name,
        "PlatformVersion": platform_version,
        "ResourceType": "EC2Instance",
        "ComputerName": f"ip-10-0-0-{sum(map(ord, instance.instance_id)) % 250 + 2}.ec2.internal",
    }
