"""What a deployment created, as tests, the demo and the CLI read it."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict


class DeployedResource(BaseModel):
    model_config = ConfigDict(frozen=True)

    logical_id: str
    type: str
    physical_id: str
    """What `Ref` returns for this resource (a name, an ARN or a URL, per type, as CloudFormation)."""
    attributes: dict[str, str]
    """What `Fn::GetAtt` returns, by attribute name."""


class SkippedResource(BaseModel):
    model_config = ConfigDict(frozen=True)

    logical_id: str
    type: str


class DeployedFunction(BaseModel):
    """A Lambda function and where its code is in cdk.out."""

    model_config = ConfigDict(frozen=True)

    logical_id: str
    function_name: str
    handler: str
    runtime: str
    asset_dir: Path


class Deployment(BaseModel):
    """A stack deployed into the sandbox from its synthesized template."""

    model_config = ConfigDict(frozen=True)

    stack_name: str
    resources: dict[str, DeployedResource]
    outputs: dict[str, str]
    skipped: list[SkippedResource]
    """Resources of types the deployer does not create: listed, never silently dropped."""
    notes: list[str]
    """Properties the sandbox could not honour (e.g. Lambda layers), one line each."""
    functions: list[DeployedFunction]
    bucket_policies: dict[str, str] = {}
    """Bucket name -> the bucket policy as synthesized (moto holds one without conditional Denies)."""
    access_logs: dict[str, tuple[str, str]] = {}
    """Bucket name -> (target bucket, prefix) of its server access logs (panic_button_sandbox/s3_access_logs.py)."""

    def physical_id(self, logical_id: str) -> str:
        return self.resources[logical_id].physical_id

    def of_type(self, resource_type: str) -> list[DeployedResource]:
        return [resource for resource in self.resources.values() if resource.type == resource_type]
