"""Step Functions calls Lambda and SNS as the state machine's role: every client moto's ASL interpreter makes
for a Task is authorized, through the sandbox's IAM, as a session of the role the execution runs with.

Replaced: `boto_client_for` in the interpreter's modules that import it (stock: clients with fixed fake
keys that reach moto unchecked)."""

from __future__ import annotations

import importlib
from typing import Any

from moto.stepfunctions.parser.asl.utils import boto_client

from panic_button_sandbox.iam.enforcement import IamEnforcement
from panic_button_sandbox.patches import Patches

_USERS = (
    "component.state.exec.state_task.lambda_eval_utils",
    "component.state.exec.state_task.service.state_task_service_sns",
    "component.state.exec.state_task.service.state_task_service_sqs",
    "component.state.exec.state_task.service.state_task_service_dynamodb",
    "component.state.exec.state_task.service.state_task_service_events",
    "component.state.exec.state_task.service.state_task_service_sfn",
    "component.state.exec.state_task.service.state_task_service_aws_sdk",
)
_SESSION = "states-execution"


def install_state_machine_identity(patches: Patches, iam: IamEnforcement) -> None:
    stock = boto_client.boto_client_for

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        client = stock(region=region, service=service, state_credentials=state_credentials)
        role_arn = getattr(state_credentials, "role_arn", None)
        if role_arn:
            iam.attach(client, _SESSION, str(role_arn))
        return client

    for name in _USERS:
        module = importlib.import_module(f"moto.stepfunctions.parser.asl.{name}")
        patches.replace(module, "boto_client_for", boto_client_for)
