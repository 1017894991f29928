"""A local AWS for Panic Button: moto in-process, extended so the real workflow runs end to end.

Public API: `Sandbox`, `InstanceSpec`, `SimulatedInstance`, `Deployment`, `StaleAssetsError`.
"""

from panic_button_sandbox.deploy import Deployment, DeploymentError
from panic_button_sandbox.instances import InstanceSpec, SimulatedInstance
from panic_button_sandbox.lambda_assets import StaleAssetsError
from panic_button_sandbox.sandbox import Sandbox

__all__ = ["Deployment", "DeploymentError", "InstanceSpec", "Sandbox", "SimulatedInstance", "StaleAssetsError"]
