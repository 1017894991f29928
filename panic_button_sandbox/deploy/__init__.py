"""Deploy a synthesized CDK template into the sandbox."""

from panic_button_sandbox.deploy.deployer import CREATORS, DeploymentError, deploy
from panic_button_sandbox.deploy.intrinsics import TemplateError
from panic_button_sandbox.deploy.model import DeployedFunction, DeployedResource, Deployment, SkippedResource

__all__ = [
    "CREATORS",
    "DeployedFunction",
    "DeployedResource",
    "Deployment",
    "DeploymentError",
    "SkippedResource",
    "TemplateError",
    "deploy",
]
