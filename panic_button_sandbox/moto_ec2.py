"""EC2 actions moto lacks or fakes, answered from the simulated instances.

Replaced or added: SendDiagnosticInterrupt (missing), GetConsoleScreenshot (missing), GetConsoleOutput
(one fixed text for every instance), DescribeInstanceStatus (always ok), RebootInstances (instant).
Instances the sandbox does not simulate keep moto's stock answers where moto has one.
"""

from __future__ import annotations

import base64
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.core.types import Base64EncodedString
from moto.core.utils import utcnow
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.responses import EC2Response

from panic_button_sandbox.console import CONSOLE_SCREENSHOT_JPEG
from panic_button_sandbox.instances import InstanceFleet, SimulatedInstance
from panic_button_sandbox.patches import Patches

CONSOLE_OUTPUT_LIMIT = 64 * 1024  # EC2 keeps the most recent 64 KB


def diagnostic_interrupt_unsupported(instance_type: dict[str, Any]) -> bool:
    """As EC2 documents it: Nitro types (bare metal included) except Graviton (arm64, A1 included) and Mac.

    Written from the EC2 user guide, apart from Panic Button's own rule, so tests of that rule meet an
    independent EC2."""
    architectures = instance_type.get("ProcessorInfo", {}).get("SupportedArchitectures", [])
    return instance_type.get("Hypervisor") == "xen" or "x86_64" not in architectures


def install_ec2_extensions(patches: Patches, fleet: InstanceFleet) -> None:
    def send_diagnostic_interrupt(self: EC2Response) -> EmptyResult:
        self.error_on_dryrun()
        instance = self.ec2_backend.get_instance(self._get_param("InstanceId"))
        [instance_type] = self.ec2_backend.describe_instance_types([instance.instance_type])
        if diagnostic_interrupt_unsupported(instance_type):
            raise EC2ClientError(
                "UnsupportedOperation",
                f"The instance type '{instance.instance_type}' does not support diagnostic interrupts.",
            )
        if instance.state != "running":
            raise EC2ClientError(
                "IncorrectInstanceState", f"The instance '{instance.id}' is not in the 'running' state."
            )
        fleet.deliver_interrupt(instance.id)
        return EmptyResult()

    def get_console_screenshot(self: EC2Response) -> ActionResult:
        instance = self.ec2_backend.get_instance(self._get_param("InstanceId"))
        image = Base64EncodedString.from_encoded_bytes(base64.b64encode(CONSOLE_SCREENSHOT_JPEG))
        return ActionResult({"InstanceId": instance.id, "ImageData": image})

    def get_console_output(self: EC2Response) -> ActionResult:
        simulated = fleet.get(self._get_param("InstanceId"))
        if simulated is None:
            result: ActionResult = stock_console_output(self)
            return result
        text = simulated.console_output(latest=self._get_bool_param("Latest", False))
        tail = text.encode()[-CONSOLE_OUTPUT_LIMIT:]
        return ActionResult(
            {
                "InstanceId": simulated.instance_id,
                "Timestamp": utcnow(),
                "Output": Base64EncodedString.from_encoded_bytes(base64.b64encode(tail)),
            }
        )

    def describe_instance_status(self: EC2Response) -> ActionResult:
        filters = [{"name": k, "values": v} for k, v in self._filters_from_querystring().items()]
        instances = self.ec2_backend.describe_instance_status(
            self._get_param("InstanceIds", []), self._get_bool_param("IncludeAllInstances", False), filters
        )
        return ActionResult({"InstanceStatuses": [_instance_status(i, fleet.get(i.id)) for i in instances]})

    def reboot_instances(self: EC2Response) -> Any:
        response = stock_reboot_instances(self)
        for instance_id in self._get_param("InstanceIds", []):
            simulated = fleet.get(instance_id)
            if simulated is not None:
                simulated.reboot()
        return response

    patches.replace(EC2Response, "send_diagnostic_interrupt", send_diagnostic_interrupt)
    patches.replace(EC2Response, "get_console_screenshot", get_console_screenshot)
    stock_console_output = patches.replace(EC2Response, "get_console_output", get_console_output)
    patches.replace(EC2Response, "describe_instance_status", describe_instance_status)
    stock_reboot_instances = patches.replace(EC2Response, "reboot_instances", reboot_instances)


def _instance_status(instance: Any, simulated: SimulatedInstance | None) -> dict[str, Any]:
    status = {
        "InstanceId": instance.id,
        "AvailabilityZone": instance.availability_zone,
        "InstanceState": {"Code": instance.state_code, "Name": instance.state},
        "InstanceStatus": instance.instance_status,
        "SystemStatus": instance.system_status,
    }
    if simulated is not None and instance.state == "running":
        health = simulated.health()
        reachability = {"ok": "passed", "impaired": "failed"}.get(health.instance_status, health.instance_status)
        detail: dict[str, Any] = {"Name": "reachability", "Status": reachability}
        if health.impaired_since is not None:
            detail["ImpairedSince"] = health.impaired_since
        status["InstanceStatus"] = {"Status": health.instance_status, "Details": [detail]}
    return status
