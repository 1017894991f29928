"""Simulated instances on a controlled clock: hang, interrupt, kdump, reboot, agent."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from panic_button.logic.triage import triage_kernel_log
from pydantic import ValidationError

from panic_button_sandbox.instances import (
    RECOVERS_AFTER_SECONDS,
    InstanceFleet,
    InstanceSpec,
    SimulatedInstance,
)

SCALE = 10.0  # a 60 s reboot takes 6 s on the test clock


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.25  # 2027-01-15, with a fraction of a second

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def simulate(tmp_path: Path, clock: Clock, **spec: object) -> SimulatedInstance:
    return SimulatedInstance("i-0123456789abcdef0", InstanceSpec(**spec), tmp_path / "root", SCALE, clock)  # type: ignore[arg-type]


def test_spec_defaults_describe_a_hung_opted_in_rhel_instance() -> None:
    spec = InstanceSpec()
    assert (spec.instance_type, spec.platform, spec.state, spec.layout) == ("m5.large", "linux", "running", "rhel")
    assert spec.tags == {"PanicButton": "enabled"}
    assert spec.impaired and spec.on_interrupt == "panic" and spec.reboot_seconds == 60
    assert InstanceSpec(platform="windows").layout == "windows"


@pytest.mark.parametrize(
    "bad",
    [
        {"colour": "blue"},
        {"files": {"/etc/passwd": "x"}},
        {"files": {"../escape": "x"}},
        {"platform": "windows", "crash_layout": "rhel"},
        {"crash_layout": "windows"},
        {"dump_bytes": -1},
        {"hang": "rt-spin"},  # a simulated instance cannot really hang
        {"backend": "qemu", "hang": "deadlock"},
        {"backend": "qemu", "hang": "hung-task-storm"},  # the guest hangs for real, not by a written log
    ],
)
def test_spec_rejects(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        InstanceSpec(**bad)  # type: ignore[arg-type]


def test_hung_instance_is_impaired_and_shows_blocked_tasks_only_in_latest_console(tmp_path: Path, clock: Clock) -> None:
    instance = simulate(tmp_path, clock)
    health = instance.health()
    assert health.instance_status == "impaired" and not health.agent_online
    latest = instance.console_output(True)
    assert "INFO: task jbd2/nvme0n1p1-:412 blocked for more than 120 seconds." in latest
    # As a real kernel prints it: a task name is at most 15 characters, so triage can read it
    assert [t.comm for t in triage_kernel_log(latest).hung_tasks] == ["jbd2/nvme0n1p1-", "postgres"]
    buffered = instance.console_output(False)
    assert "Linux version 5.14.0" in buffered and "blocked for more than" not in buffered


def test_interrupt_panics_dumps_and_reboots(tmp_path: Path, clock: Clock) -> None:
    instance = simulate(tmp_path, clock, dump_bytes=4096)
    interrupted_at = datetime.fromtimestamp(clock.now, UTC)
    clock.advance(1)
    instance.receive_interrupt()

    console = instance.console_output(True)
    assert "NMI received for unknown reason 3d on CPU 0." in console
    assert "Kernel panic - not syncing: NMI: Not continuing" in console
    [dump_dir] = (instance.root / "var/crash").iterdir()
    dumped_at = datetime.strptime(dump_dir.name, "127.0.0.1-%Y-%m-%d-%H:%M:%S").replace(tzinfo=UTC)
    assert dumped_at > interrupted_at
    assert (dump_dir / "vmcore").stat().st_size == 4096
    assert (dump_dir / "vmcore").read_bytes().startswith(b"KDUMP   ")
    dmesg = (dump_dir / "vmcore-dmesg.txt").read_text()
    assert "Kernel panic - not syncing: NMI: Not continuing" in dmesg and "Call Trace:" in dmesg
    # The dump's log ends where the panicked kernel stopped; the capture kernel's lines are on the console only
    assert dmesg.rstrip().splitlines()[-1].endswith("(relocation range: 0xffffffff80000000-0xffffffffbfffffff)")
    assert "kdump[" not in dmesg and "kdump[" not in console  # the crash kernel is still booting
    assert instance.interrupt_count == 1

    # The real kernel's timeline in a 60 s reboot: kdump at work after 5 s, the dump written until 45 s,
    # with makedumpfile's progress on the console, then 15 s of restart.
    clock.advance(30 / SCALE)
    console = instance.console_output(True)
    assert "kdump[437]: saving to /var/crash/" in console and console.endswith("[ 62.5 %] |")
    assert "saving vmcore complete" not in console
    assert instance.health().instance_status == "impaired"
    clock.advance(16 / SCALE)
    console = instance.console_output(True)
    assert "saving vmcore complete" in console and "Copying data" in console and not console.endswith("%] |")
    clock.advance(8 / SCALE)
    assert instance.health().instance_status == "initializing"
    clock.advance(7 / SCALE)
    health = instance.health()
    assert health.instance_status == "ok" and health.agent_online
    assert health.last_ping > instance.interrupt_times[0]
    assert "Kernel panic" in instance.console_output(False)  # the reboot's buffer holds the panic


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ("debian", ["dump.202701150800", "dmesg.202701150800"]),
        ("ubuntu", ["dump.202701150800", "dmesg.202701150800"]),
        ("amazon-linux", ["vmcore", "vmcore-dmesg.txt"]),
    ],
)
def test_linux_dump_layouts(tmp_path: Path, clock: Clock, layout: str, expected: list[str]) -> None:
    instance = simulate(tmp_path, clock, crash_layout=layout)
    instance.receive_interrupt()
    [dump_dir] = (instance.root / "var/crash").iterdir()
    assert sorted(path.name for path in dump_dir.iterdir()) == sorted(expected)


def test_windows_dump_layout(tmp_path: Path, clock: Clock) -> None:
    instance = simulate(tmp_path, clock, platform="windows", dump_bytes=1000)
    instance.receive_interrupt()
    memory_dump = instance.root / "Windows/MEMORY.DMP"
    assert memory_dump.read_bytes()[:8] == b"PAGEDU64" and memory_dump.stat().st_size == 1000
    assert [path.name for path in (instance.root / "Windows/Minidump").iterdir()] == ["011527-01.dmp"]


def test_no_kdump_means_no_dump_but_still_a_reboot(tmp_path: Path, clock: Clock) -> None:
    instance = simulate(tmp_path, clock, crash_layout="none")
    instance.receive_interrupt()
    assert not (instance.root / "var/crash").exists()
    assert (instance.root / "sys/kernel/kexec_crash_loaded").read_text() == "0\n"
    clock.advance(60 / SCALE)
    assert instance.health().instance_status == "ok"


def test_large_dump_is_sparse(tmp_path: Path, clock: Clock) -> None:
    instance = simulate(tmp_path, clock, dump_bytes=2 * 1024**3)
    instance.receive_interrupt()
    [vmcore] = (instance.root / "var/crash").glob("*/vmcore")
    assert vmcore.stat().st_size == 2 * 1024**3
    assert vmcore.stat().st_blocks * 512 < 16 * 1024**2


def test_ignored_interrupt_changes_nothing_but_the_console(tmp_path: Path, clock: Clock) -> None:
    instance = simulate(tmp_path, clock, on_interrupt="ignore")
    instance.receive_interrupt()
    clock.advance(600)
    assert "Dazed and confused, but trying to continue" in instance.console_output(True)
    assert "Kernel panic" not in instance.console_output(True)
    assert instance.health().instance_status == "impaired"
    assert list((instance.root / "var/crash").iterdir()) == []
    assert instance.interrupt_count == 1


def test_instance_that_never_comes_back(tmp_path: Path, clock: Clock) -> None:
    instance = simulate(tmp_path, clock, reboot_seconds=None)
    instance.receive_interrupt()
    clock.advance(10**6)
    assert instance.health().instance_status == "impaired"


def test_agent_that_stays_offline_after_reboot(tmp_path: Path, clock: Clock) -> None:
    instance = simulate(tmp_path, clock, ssm_online_after_reboot=False)
    instance.receive_interrupt()
    clock.advance(60 / SCALE)
    health = instance.health()
    assert health.instance_status == "ok" and not health.agent_online
    assert health.last_ping <= instance.interrupt_times[0]


def test_instance_recovering_by_itself(tmp_path: Path, clock: Clock) -> None:
    instance = simulate(tmp_path, clock, recovers_before_interrupt=True)
    assert instance.health().instance_status == "impaired"
    clock.advance(RECOVERS_AFTER_SECONDS / SCALE)
    assert instance.health().instance_status == "ok"
    assert instance.health().agent_online


def test_reboot_clears_a_hang_without_a_dump(tmp_path: Path, clock: Clock) -> None:
    instance = simulate(tmp_path, clock)
    instance.reboot()
    assert instance.health().instance_status == "impaired"
    clock.advance(60 / SCALE)
    assert instance.health().instance_status == "ok"
    assert list((instance.root / "var/crash").iterdir()) == []
    assert instance.interrupt_count == 0


def test_healthy_instance_panics_too_and_its_agent_pinged_until_then(tmp_path: Path, clock: Clock) -> None:
    instance = simulate(tmp_path, clock, impaired=False)
    assert instance.health().agent_online
    clock.advance(5)
    instance.receive_interrupt()
    health = instance.health()
    assert not health.agent_online
    assert health.last_ping == instance.interrupt_times[0]


def test_filesystem_holds_os_identity_kdump_config_and_spec_files(tmp_path: Path, clock: Clock) -> None:
    instance = simulate(tmp_path, clock, crash_layout="ubuntu", files={"etc/motd": "hello\n"})
    assert "ID=ubuntu" in (instance.root / "etc/os-release").read_text()
    assert 'KDUMP_COREDIR="/var/crash"' in (instance.root / "etc/default/kdump-tools").read_text()
    assert (instance.root / "etc/motd").read_text() == "hello\n"


def test_fleet_counts_interrupts_of_instances_it_does_not_simulate(tmp_path: Path, clock: Clock) -> None:
    fleet = InstanceFleet()
    instance = simulate(tmp_path, clock)
    fleet.add(instance)
    fleet.deliver_interrupt(instance.instance_id)
    fleet.deliver_interrupt("i-unsimulated")
    fleet.deliver_interrupt("i-unsimulated")
    assert fleet.interrupt_count(instance.instance_id) == 1
    assert fleet.interrupt_count("i-unsimulated") == 2
    assert fleet.interrupt_count("i-never") == 0


def test_a_hung_task_storm_reports_as_many_tasks_as_the_kernel_does_then_falls_silent(tmp_path: Path,
                                                                                       clock: Clock) -> None:
    storm = simulate(tmp_path / "storm", clock, hang="hung-task-storm", crash_layout="ubuntu").console_output(True)
    quiet = simulate(tmp_path / "quiet", clock, crash_layout="ubuntu").console_output(True)
    stormy, plain = triage_kernel_log(storm), triage_kernel_log(quiet)
    # kernel.hung_task_warnings (10 by default) reports, then the kernel's own line saying it stopped
    assert len(stormy.hung_tasks) == 10 and len(plain.hung_tasks) == 2
    assert "Future hung task reports are suppressed, see sysctl kernel.hung_task_warnings" in storm
    assert {t.comm for t in stormy.hung_tasks} == {"jbd2/nvme0n1p1-", "postgres"}
