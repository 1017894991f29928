"""What every workflow handler shares: parse the state document in, dump one part out."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from panic_button.aws import TargetClients, target_clients
from panic_button.errors import MalformedState
from panic_button.models.state import RemediationState


def parse_state(event: dict[str, Any]) -> RemediationState:
    try:
        return RemediationState.model_validate(event)
    except ValidationError as error:
        # Only the workflow writes the state; a bad shape is a definition bug, named clearly.
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise MalformedState(f"workflow state is malformed at {where}: {problem['msg']}") from None


def part(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


def clients_for(state: RemediationState, function_arn: str) -> TargetClients:
    """The EC2 and SSM clients for the target: in an organization hub, the member role's session for another
    account or Region, named for the execution; otherwise this account's shared clients."""
    target = state.require_target()
    return target_clients(target.account, target.region, function_arn=function_arn,
                          execution_name=state.execution.name)
