"""Simulated Linux instance roots in the ready shape, and the single changes that break each check.

Free space is measured for real (df on the host disk under the root), so memory sizes make the outcome
certain on any machine: 1 MiB of RAM leaves room on every disk, 1 EiB on none."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from infra.ssm.readiness_document import SCRIPTS
from panic_button_cli.operations.readiness_checks import ScriptOutput, parse_output

TINY_MEMORY = "MemTotal:        1024 kB\nMemFree:          512 kB\n"
ENORMOUS_MEMORY = "MemTotal:       1152921504606846976 kB\n"  # 1 EiB: no disk has 1/32 of it free

READY_FILES = {
    "sys/kernel/kexec_crash_loaded": "1\n",
    "sys/kernel/kexec_crash_size": "268435456\n",
    "proc/cmdline": "BOOT_IMAGE=/boot/vmlinuz-6.1.0-28-cloud-amd64 root=/dev/nvme0n1p1 ro crashkernel=256M quiet\n",
    "proc/sys/kernel/unknown_nmi_panic": "1\n",
    "proc/sys/kernel/panic_on_unrecovered_nmi": "0\n",
    "proc/meminfo": TINY_MEMORY,
    "etc/default/kdump-tools": 'USE_KDUMP=1\nKDUMP_COREDIR="/var/crash"\n',
}
READY_FOLDERS = ("var/crash",)

# check name -> files that break it alone (None removes the file)
BREAKS: dict[str, dict[str, str | None]] = {
    "crash_kernel_loaded": {"sys/kernel/kexec_crash_loaded": "0\n"},
    "crashkernel_reserved": {"proc/cmdline": "BOOT_IMAGE=/boot/vmlinuz-6.1.0-28-cloud-amd64 ro quiet\n"},
    "nmi_panic": {"proc/sys/kernel/unknown_nmi_panic": "0\n"},
    "dump_space": {"proc/meminfo": ENORMOUS_MEMORY},
}


def write_root(root: Path, files: dict[str, str | None], folders: tuple[str, ...] = READY_FOLDERS) -> Path:
    for relative, text in files.items():
        path = root / relative
        if text is None:
            path.unlink(missing_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for folder in folders:
        (root / folder).mkdir(parents=True, exist_ok=True)
    return root


def install_systemctl(root: Path, states: dict[str, str]) -> None:
    """The instance's own systemctl, answering `is-active UNIT` from `states` (unknown units: inactive)."""
    cases = "".join(f'    {unit}) echo {state}; [ {state} = active ] ;;\n' for unit, state in states.items())
    script = root / "usr/bin/systemctl"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(f'#!/bin/sh\n[ "$1" = is-active ] || exit 1\ncase "$2" in\n{cases}'
                      '    *) echo inactive; exit 3 ;;\nesac\n')
    script.chmod(0o755)


def run_readiness(shell: str, root: Path) -> tuple[ScriptOutput, str]:
    """Run readiness.sh as the sandbox's agent does: only the system PATH and PANIC_BUTTON_ROOT."""
    result = subprocess.run(
        [shell, str(SCRIPTS / "readiness.sh")], capture_output=True, text=True, check=False, timeout=300,
        env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
             "PANIC_BUTTON_ROOT": str(root), "HOME": os.devnull},
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    return parse_output(result.stdout), result.stdout
