"""Launch a cast into the sandbox and let the stack's real alarm manager give it alarms: the demo's and
`panic-button sandbox`'s fleet come up the same way."""

from __future__ import annotations

import json

from panic_button_cli.demo_scenario import Cast
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.sandbox import Sandbox


def launch_cast(sandbox: Sandbox, deployment: Deployment, members: tuple[Cast, ...]
                ) -> tuple[list[tuple[Cast, str]], list[str]]:
    """Each member with its instance ID, and the names of the status-check alarms the alarm manager made."""
    launched = [(member, sandbox.launch_instance(member.spec).instance_id) for member in members]
    # A scan, not the launch events: the alarms exist when this returns, not a moment later.
    sandbox.client("lambda").invoke(FunctionName=deployment.outputs["AlarmManagerFunctionName"],
                                    Payload=json.dumps({"action": "scan"}).encode())
    alarms = [alarm["AlarmName"] for alarm in sandbox.client("cloudwatch").describe_alarms(
        AlarmNamePrefix=deployment.outputs["AlarmNamePrefix"])["MetricAlarms"]]
    return launched, alarms
