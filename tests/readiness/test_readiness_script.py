"""readiness.sh run directly, with dash and bash, against simulated instance roots: the ready shape, and
each check broken alone."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from infra.ssm.readiness_document import SCRIPTS

from .instance_roots import BREAKS, READY_FILES, install_systemctl, run_readiness, write_root

LINUX_CHECKS = ["kdump_service", "crash_kernel_loaded", "crashkernel_reserved", "nmi_panic", "dump_folder",
                "dump_space"]


def test_ready_root_passes_every_check_but_the_unknown_service_state(shell: str, tmp_path: Path) -> None:
    parsed, stdout = run_readiness(shell, write_root(tmp_path, READY_FILES))
    assert parsed.ready is True
    assert [check.name for check in parsed.checks] == LINUX_CHECKS
    found = {check.name: (check.status, check.detail) for check in parsed.checks}
    # No systemctl in the simulated root: the state is unknown, which warns but does not block.
    assert found["kdump_service"][0] == "warn"
    assert all(status == "ok" for name, (status, _) in found.items() if name != "kdump_service")
    assert found["crashkernel_reserved"][1] == "crashkernel=256M"
    assert found["dump_folder"][1] == "/var/crash (KDUMP_COREDIR in /etc/default/kdump-tools)"
    assert stdout.splitlines()[-2:] == ["ready=yes", "reasons="]


@pytest.mark.parametrize("check", sorted(BREAKS))
def test_each_broken_check_alone_makes_the_root_not_ready(shell: str, tmp_path: Path, check: str) -> None:
    parsed, stdout = run_readiness(shell, write_root(tmp_path, {**READY_FILES, **BREAKS[check]}))
    assert parsed.ready is False
    assert [c.name for c in parsed.checks if c.status == "fail"] == [check]
    assert stdout.splitlines()[-1].startswith(f"reasons={check}: ")


def test_missing_crash_kernel_files_fail_as_missing(shell: str, tmp_path: Path) -> None:
    root = write_root(tmp_path, {**READY_FILES, "sys/kernel/kexec_crash_loaded": None, "proc/cmdline": None})
    parsed, _ = run_readiness(shell, root)
    failed = {c.name: c.detail for c in parsed.checks if c.status == "fail"}
    assert set(failed) == {"crash_kernel_loaded", "crashkernel_reserved"}
    assert "missing" in failed["crash_kernel_loaded"]


def test_reservation_that_reserved_nothing_fails(shell: str, tmp_path: Path) -> None:
    parsed, _ = run_readiness(shell, write_root(tmp_path, {**READY_FILES, "sys/kernel/kexec_crash_size": "0\n"}))
    [failed] = [c for c in parsed.checks if c.status == "fail"]
    assert failed.name == "crashkernel_reserved" and "nothing is reserved" in failed.detail


def test_panic_on_unrecovered_nmi_is_enough(shell: str, tmp_path: Path) -> None:
    root = write_root(tmp_path, {**READY_FILES, "proc/sys/kernel/unknown_nmi_panic": "0\n",
                                 "proc/sys/kernel/panic_on_unrecovered_nmi": "1\n"})
    parsed, _ = run_readiness(shell, root)
    assert parsed.ready is True
    assert ("nmi_panic", "ok", "kernel.panic_on_unrecovered_nmi = 1") in [(c.name, c.status, c.detail)
                                                                          for c in parsed.checks]


@pytest.mark.parametrize(("states", "status"), [
    ({"kdump-tools": "active"}, "ok"),
    ({"kdump": "active"}, "ok"),
    ({"kdump": "failed", "kdump-tools": "inactive"}, "fail"),
])
def test_service_state_comes_from_the_instances_own_systemctl(shell: str, tmp_path: Path,
                                                              states: dict[str, str], status: str) -> None:
    root = write_root(tmp_path, READY_FILES)
    install_systemctl(root, states)
    parsed, _ = run_readiness(shell, root)
    [service] = [c for c in parsed.checks if c.name == "kdump_service"]
    assert service.status == status
    assert parsed.ready is (status == "ok")
    if status == "fail":
        assert "kdump failed" in service.detail and "kdump-tools inactive" in service.detail


def test_dump_folder_comes_from_kdump_conf_path(shell: str, tmp_path: Path) -> None:
    files = {**READY_FILES, "etc/default/kdump-tools": None,
             "etc/kdump.conf": "#path /var/old\npath /srv/dumps\ncore_collector makedumpfile -l -d 31\n"}
    parsed, _ = run_readiness(shell, write_root(tmp_path, files, folders=("srv/dumps",)))
    [folder] = [c for c in parsed.checks if c.name == "dump_folder"]
    assert (folder.status, folder.detail) == ("ok", "/srv/dumps (path in /etc/kdump.conf)")
    assert parsed.ready is True


@pytest.mark.parametrize(("conf", "folders", "expected"), [
    ("path /var/crash\nssh kdump@10.0.0.5\n", ("var/crash",), "sends dumps to ssh kdump@10.0.0.5"),
    ("path /var/dumps\n", (), "/var/dumps (path in /etc/kdump.conf) does not exist yet"),
])
def test_dump_folder_off_the_local_disk_or_missing_warns(shell: str, tmp_path: Path, conf: str,
                                                         folders: tuple[str, ...], expected: str) -> None:
    files = {**READY_FILES, "etc/default/kdump-tools": None, "etc/kdump.conf": conf}
    parsed, _ = run_readiness(shell, write_root(tmp_path, files, folders=folders))
    [folder] = [c for c in parsed.checks if c.name == "dump_folder"]
    assert folder.status == "warn" and expected in folder.detail
    assert parsed.ready is True


def test_free_space_between_a_thirtysecond_and_a_third_of_memory_warns(shell: str, tmp_path: Path) -> None:
    root = write_root(tmp_path, READY_FILES)
    df = subprocess.run(["df", "-Pk", str(root / "var/crash")], capture_output=True, text=True, check=True)
    free_kib = int(df.stdout.splitlines()[1].split()[3])
    # Ten times the free space: far from both thresholds, whatever else writes to this disk meanwhile.
    write_root(root, {"proc/meminfo": f"MemTotal: {free_kib * 10} kB\n"})
    parsed, _ = run_readiness(shell, root)
    [space] = [c for c in parsed.checks if c.name == "dump_space"]
    assert space.status == "warn" and parsed.ready is True


def test_unknown_memory_size_warns(shell: str, tmp_path: Path) -> None:
    parsed, _ = run_readiness(shell, write_root(tmp_path, {**READY_FILES, "proc/meminfo": None}))
    [space] = [c for c in parsed.checks if c.name == "dump_space"]
    assert space.status == "warn" and "unknown" in space.detail


def test_the_script_changes_nothing_in_the_root(shell: str, tmp_path: Path) -> None:
    root = write_root(tmp_path, READY_FILES)
    install_systemctl(root, {"kdump": "active"})
    before = {path: path.stat().st_mtime_ns for path in root.rglob("*")}
    run_readiness(shell, root)
    assert {path: path.stat().st_mtime_ns for path in root.rglob("*")} == before


def test_powershell_twin_says_it_is_untested_and_checks_crash_control() -> None:
    ps1 = (SCRIPTS / "readiness.ps1").read_text()
    assert "UNTESTED ON WINDOWS" in ps1
    for setting in ("CrashDumpEnabled", "DumpFile", "AutoReboot", "Win32_PageFileUsage", "TotalPhysicalMemory"):
        assert setting in ps1
    # Same verdict lines as the Linux script, so one parser reads both.
    assert "'ready=yes'" in ps1 and "'ready=no'" in ps1 and "'reasons='" in ps1
