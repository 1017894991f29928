"""Find the deployed stack by name and read what the CLI needs from its CloudFormation outputs."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, ValidationError

from panic_button_cli.operations.errors import OperatorError

DEPLOY_FIX = "deploy with cdk deploy or pass --stack"


class StackOutputs(BaseModel):
    """The outputs of infra/stack.py that operations use; others are ignored."""

    model_config = ConfigDict(extra="ignore")

    stack_name: str
    StateMachineArn: str
    TableName: str
    EvidenceBucketName: str | None = None
    TopicArn: str | None = None
    OptInTag: str | None = None  # "key=value"
    ApprovalTag: str | None = None  # "key=value": opted in, with a person's approval before the interrupt
    ReadinessDocument: str | None = None

    def opt_in_values(self) -> list[str]:
        """Every tag value that opts an instance in (the approval value too, on stacks that have one)."""
        values = [tag.partition("=")[2] for tag in (self.OptInTag, self.ApprovalTag) if tag and "=" in tag]
        return values

    def opt_in_tag(self) -> tuple[str, str] | None:
        if not self.OptInTag or "=" not in self.OptInTag:
            return None
        key, _, value = self.OptInTag.partition("=")
        return key, value


def find_stack(cloudformation: Any, stack_name: str) -> StackOutputs:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        # CloudFormation answers a missing stack with a generic ValidationError "... does not exist".
        if "does not exist" in str(error):
            raise OperatorError(f"stack {stack_name!r} not found in {_region(cloudformation)}", DEPLOY_FIX) from None
        raise
    if not stacks:
        raise OperatorError(f"stack {stack_name!r} not found in {_region(cloudformation)}", DEPLOY_FIX)
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
    try:
        return StackOutputs.model_validate({"stack_name": stack_name, **outputs})
    except ValidationError as error:
        missing = ", ".join(str(problem["loc"][0]) for problem in error.errors())
        raise OperatorError(f"stack {stack_name!r} has no output {missing} (is it a Panic Button stack?)",
                            DEPLOY_FIX) from None


def _region(client: Any) -> str:
    return str(getattr(getattr(client, "meta", None), "region_name", None) or "this region")
