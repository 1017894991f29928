"""What every workflow handler shares: parse the state document in, dump one part out."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

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
