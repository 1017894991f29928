"""What a simulated instance prints on its serial console, and the screenshot EC2 returns."""

from __future__ import annotations

import base64
from typing import Literal

CrashLayout = Literal["rhel", "amazon-linux", "debian", "ubuntu", "windows", "none"]

KERNEL_RELEASE: dict[CrashLayout, str] = {
    "rhel": "5.14.0-427.13.1.el9_4.x86_64",
    "amazon-linux": "6.1.102-111.182.amzn2023.x86_64",
    "debian": "6.1.0-25-cloud-amd64",
    "ubuntu": "6.8.0-1015-aws",
    "none": "6.1.102-111.182.amzn2023.x86_64",
}

# A 64x32 grey JPEG of a dark console with four lines of "text" (465 bytes, baseline JFIF).
CONSOLE_SCREENSHOT_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABQODxIPDRQSEBIXFRQYHjIhHhwcHj0sLiQySUBMS0dARkVQWnNiUFVtVkVGZIhlbXd7"
    "gYKBTmCNl4x9lnN+gXz/wAALCAAgAEABAREA/8QAFwABAQEBAAAAAAAAAAAAAAAAAAUEA//EAC0QAAAEAwUHBAMAAAAAAAAAAAAB"
    "AgQDEZIFBhRU0hIVFiFTYdExQVWiE1HB/9oACAEBAAA/AIFnwbLiQFG/cxYUXakRILlKRdj7jVhbv55xSekMLd/POKT0hhbv55xS"
    "ekMLd/POKT0jFaUKz4f493x4kWc9vbKUvSXsXcYQFGz41lw4CiftosWLtTI0HylIu5dxqxV38i4qPUGKu/kXFR6gxV38i4qPUGKu"
    "/kXFR6gxV38i4qPUGKu/kXFR6hEFGz7RbtICocZhCcqNW1trlMikXLmRjVvtl8M3+ukN9svhm/10hvtl8M3+ukS3sdDl0uLCgpgI"
    "VKUNPoXKX6IcAAUbPtlxZ0BUGCiEpKlbU1kZnORF7H2Gril70m9KvIcUvek3pV5Dil70m9KvIcUvek3pV5Dil70m9KvIlvXS3rpb"
    "iKSSWuUyT6cil/BwH//Z"
)


def boot_log(layout: CrashLayout, instance_type: str) -> str:
    if layout == "windows":
        return (
            "2026/11/20 02:40:02Z: Windows sysprep configuration complete.\n"
            "2026/11/20 02:40:09Z: Message: Waiting for meta-data accessibility...\n"
            "2026/11/20 02:40:10Z: Message: Meta-data is now available.\n"
            "2026/11/20 02:40:31Z: EC2Launch: Windows is Ready to use\n"
        )
    release = KERNEL_RELEASE[layout]
    return (
        f"[    0.000000] Linux version {release} (mockbuild@builder) (gcc 11.4.1) #1 SMP PREEMPT_DYNAMIC\n"
        f"[    0.000000] Command line: BOOT_IMAGE=(hd0,gpt1)/boot/vmlinuz-{release} root=UUID=7c2d0a1e "
        "ro console=tty0 console=ttyS0,115200n8 nvme_core.io_timeout=4294967295 crashkernel=256M\n"
        f"[    0.000000] DMI: Amazon EC2 {instance_type}/, BIOS 1.0 10/16/2017\n"
        "[    0.412233] Hypervisor detected: KVM\n"
        "[    2.017745] nvme nvme0: 2/0/0 default/read/poll queues\n"
        "[    3.903316] systemd[1]: Detected virtualization amazon.\n"
        "[    6.118020] kdump: kexec: loaded kdump kernel\n"
        "[    6.118561] kdump: Starting kdump: [OK]\n"
    )


# The kernel's default kernel.hung_task_warnings: after this many reports it stays silent.
HUNG_TASK_WARNINGS = 10
_JOURNAL_STACK = ("io_schedule+0x42/0x70", "bit_wait_io+0xd/0x60", "__wait_on_bit+0x4b/0x140",
                  "jbd2_journal_commit_transaction+0x1521/0x1a10 [jbd2]", "kjournald2+0xaf/0x280 [jbd2]",
                  "kthread+0xe0/0x100", "ret_from_fork+0x2c/0x50")
# A database backend's fdatasync waiting on the stuck journal commit.
_FSYNC_STACK = ("jbd2_log_wait_commit+0xc5/0x140 [jbd2]", "ext4_sync_file+0x1d3/0x3a0 [ext4]",
                "do_fsync+0x38/0x70", "__x64_sys_fdatasync+0x13/0x20", "do_syscall_64+0x5b/0x80",
                "entry_SYSCALL_64_after_hwframe+0x72/0xdc")


def hung_task_log(layout: CrashLayout, storm: bool = False) -> str:
    """The kernel's hung-task detector, as it reports a stuck disk flusher and the tasks behind it; in a
    storm, the database backends piling up behind it until the kernel stops reporting."""
    if layout == "windows":
        return ""
    release = KERNEL_RELEASE[layout]
    # A task name is at most 15 characters (TASK_COMM_LEN 16): "jbd2/nvme0n1p1-8" prints cut to 15.
    tasks = [(2456.123456, "jbd2/nvme0n1p1-", 412, 1, _JOURNAL_STACK),
             (2456.131002, "postgres", 2871, 2870, _FSYNC_STACK)]
    if storm:
        tasks += [(2456.131002 + 0.0011 * n, "postgres", 2871 + 7 * n, 2870, _FSYNC_STACK)
                  for n in range(1, HUNG_TASK_WARNINGS - 1)]
    lines = []
    for seconds, task, pid, ppid, stack in tasks:
        stamp = f"[{seconds:12.6f}]"
        lines += [
            f"{stamp} INFO: task {task}:{pid} blocked for more than 120 seconds.",
            f"{stamp}       Not tainted {release} #1",
            f'{stamp} "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
            f"{stamp} task:{task:<16} state:D stack:0     pid:{pid:<5} ppid:{ppid:<6} flags:0x00004000",
            f"{stamp} Call Trace:",
            f"{stamp}  <TASK>",
            f"{stamp}  __schedule+0x21b/0x550",
            f"{stamp}  schedule+0x2d/0x70",
            *(f"{stamp}  {frame}" for frame in stack),
            f"{stamp}  </TASK>",
        ]
    if storm:
        lines.append(f"[{tasks[-1][0]:12.6f}] Future hung task reports are suppressed, see sysctl "
                     "kernel.hung_task_warnings")
    return "\n".join(lines) + "\n"


def nmi_ignored_log() -> str:
    return (
        "[ 3012.554101] Uhhuh. NMI received for unknown reason 3d on CPU 0.\n"
        "[ 3012.554110] Do you have a strange power saving mode enabled?\n"
        "[ 3012.554113] Dazed and confused, but trying to continue\n"
    )


def nmi_panic_log(layout: CrashLayout, instance_type: str) -> str:
    """An unknown NMI with kernel.unknown_nmi_panic=1: the kernel panics and kexecs into kdump."""
    if layout == "windows":
        return ""
    release = KERNEL_RELEASE[layout]
    return (
        "[ 3012.554101] Uhhuh. NMI received for unknown reason 3d on CPU 0.\n"
        "[ 3012.554110] Do you have a strange power saving mode enabled?\n"
        "[ 3012.554113] Kernel panic - not syncing: NMI: Not continuing\n"
        f"[ 3012.554120] CPU: 0 PID: 0 Comm: swapper/0 Kdump: loaded Not tainted {release} #1\n"
        f"[ 3012.554125] Hardware name: Amazon EC2 {instance_type}/, BIOS 1.0 10/16/2017\n"
        "[ 3012.554127] Call Trace:\n"
        "[ 3012.554129]  <NMI>\n"
        "[ 3012.554131]  dump_stack_lvl+0x34/0x48\n"
        "[ 3012.554140]  panic+0x102/0x2d4\n"
        "[ 3012.554146]  nmi_panic.cold+0xc/0xc\n"
        "[ 3012.554150]  unknown_nmi_error.cold+0x2a/0x3e\n"
        "[ 3012.554154]  default_do_nmi+0xe4/0x110\n"
        "[ 3012.554158]  exc_nmi+0x115/0x170\n"
        "[ 3012.554162]  end_repeat_nmi+0x16/0x67\n"
        "[ 3012.554170]  </NMI>\n"
        "[ 3012.554171]  <TASK>\n"
        "[ 3012.554173]  default_idle+0xa/0x10\n"
        "[ 3012.554176]  do_idle+0x1f6/0x260\n"
        "[ 3012.554180]  cpu_startup_entry+0x19/0x20\n"
        "[ 3012.554183]  </TASK>\n"
        "[ 3012.554190] Kernel Offset: 0x1a000000 from 0xffffffff81000000 "
        "(relocation range: 0xffffffff80000000-0xffffffffbfffffff)\n"
    )


def kdump_started_log(dump_dir: str) -> str:
    """kdumpctl in the crash kernel, as it starts writing (makedumpfile's progress follows)."""
    return (
        "[    1.402215] kdump[412]: Kdump is using the default log level(3).\n"
        f"[    1.633804] kdump[437]: saving to {dump_dir}/\n"
        "[    1.654910] kdump[451]: saving vmcore-dmesg.txt to " + dump_dir + "/\n"
    )


def copy_progress(percent: float) -> str:
    """makedumpfile's progress indicator, redrawn in place with a carriage return."""
    return f"\rCopying data                                      : [{percent:5.1f} %] |"


def kdump_saved_log() -> str:
    """The last progress redraw, then kdumpctl's end."""
    return (copy_progress(100.0) + "\r\n[    5.118823] kdump[466]: saving vmcore complete\n"
            "[    5.201734] kdump[470]: rebooting\n")


def restart_log(layout: CrashLayout) -> str:
    return "" if layout == "windows" else "[ 4100.000000] reboot: Restarting system\n"
