"""The demo's cast: several instances with different fates, and how each is triggered."""

from __future__ import annotations

from dataclasses import dataclass

from panic_button_sandbox.instances import InstanceSpec

OPT_IN = {"PanicButton": "enabled"}


@dataclass(frozen=True)
class Cast:
    name: str
    story: str
    spec: InstanceSpec
    via_alarm: bool = True  # False: an operator starts it by hand (no alarm exists for it)


CAST = (
    Cast("web-1", "Amazon Linux web server, kernel hung; kdump armed",
         InstanceSpec(tags={**OPT_IN, "Name": "web-1"}, crash_layout="amazon-linux", reboot_seconds=75)),
    Cast("db-1", "Ubuntu database, hung-task storm; kdump-tools armed",
         InstanceSpec(tags={**OPT_IN, "Name": "db-1"}, crash_layout="ubuntu", reboot_seconds=90,
                      dump_bytes=3 * 1024 * 1024, hang="hung-task-storm")),
    Cast("win-1", "Windows Server, frozen; complete memory dump enabled",
         InstanceSpec(tags={**OPT_IN, "Name": "win-1"}, platform="windows", crash_layout="windows",
                      reboot_seconds=120)),
    Cast("legacy-1", "opted in, but never comes back after the interrupt",
         InstanceSpec(tags={**OPT_IN, "Name": "legacy-1"}, reboot_seconds=None)),
    Cast("batch-1", "not opted in: an operator tries to start a rescue by hand",
         InstanceSpec(tags={"Name": "batch-1"}), via_alarm=False),
)

# One line per paragraph: the terminal wraps it at its own width.
REAL_AND_SIMULATED = (
    "What is real here: the CloudFormation template from `cdk synth`, the state machine definition, every "
    "Lambda handler, the EventBridge rule pattern, the alarm manager, the Linux collector script (bash, run "
    "against each instance's filesystem), the presigned multipart upload to S3, SHA-256 verification, triage.\n"
    "What is simulated: AWS itself (moto on 127.0.0.1), the instances (a kernel that \"panics\" on the interrupt "
    "by writing a dump file, then \"reboots\"), the Windows collector (PowerShell cannot run here: its contract "
    "is emulated in Python), and time (every wait runs {scale:g}x faster)."
)
