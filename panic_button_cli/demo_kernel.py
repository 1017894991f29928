"""`panic-button demo --kernel` (`make demo-kernel`): the same narrated rescue, of one real Linux kernel.

The instance is a Debian kernel under QEMU (panic_button_sandbox/qemu/backend.py). It needs the host
packages of scripts/install-kernel-test-deps.sh and builds its guest images into .cache/kernel once.
"""

from __future__ import annotations

from typing import Any

from panic_button_cli.demo_scenario import OPT_IN, Cast
from panic_button_sandbox.instances import InstanceSpec
from panic_button_sandbox.qemu.backend import QemuInstance
from panic_button_sandbox.sandbox import Sandbox

_PHASE_NAMES = {"crash_kernel": "crash kernel booting", "dump_saved": "dump saved", "back_online": "back online"}

KERNEL_CAST = (
    Cast("kernel-1", "a real Debian kernel under QEMU, kdump armed, unknown_nmi_panic=1 (boots now, ~10 s)",
         InstanceSpec(tags={**OPT_IN, "Name": "kernel-1"}, backend="qemu")),
)

KERNEL_REAL_AND_SIMULATED = (  # one line per paragraph: the terminal wraps it
    "What is real here: a Debian kernel booted under QEMU with kdump armed. SendDiagnosticInterrupt "
    "injects an NMI into it through QMP, as EC2's hypervisor does; the kernel panics, the crash kernel's "
    "makedumpfile writes /var/crash/<stamp>/dump.<stamp>, and the guest reboots. The status checks and "
    "the SSM agent are read off its serial console; the collector script runs against its /var/crash, "
    "read back from its disk once it is up again. Also real: the template, state machine, Lambda "
    "handlers, presigned multipart upload, SHA-256 verification and triage of the kernel's own log.\n"
    "What is simulated: AWS itself (moto on 127.0.0.1), the hang before the interrupt (the status check "
    "reports impaired until the NMI), and the workflow's waits ({scale:g}x faster; the reboot takes its "
    "real time)."
)


def kernel_story(sandbox: Sandbox, instance_id: str, record: dict[str, Any] | None) -> list[str]:
    """What the guest did, in wall-clock seconds from the interrupt, and what triage read in its log."""
    instance = sandbox.instance(instance_id)
    if not isinstance(instance, QemuInstance) or not instance.interrupt_times:
        return [f"{instance_id}: no interrupt reached the guest"]
    interrupted = instance.interrupt_times[0]
    phases = instance.phases
    steps = [f"{_PHASE_NAMES[name]} +{(phases[name] - interrupted).total_seconds():.1f} s"
             for name in _PHASE_NAMES if name in phases]
    lines = [f"{instance_id}: NMI injected through QMP -> " + (", ".join(steps) or "the guest never crashed")]
    culprit = (record or {}).get("culprit")
    lines += [f"  culprit: {culprit}"] if culprit else []
    lines += [f"  triage: {line}" for line in (record or {}).get("triage_summary", [])]
    return lines
