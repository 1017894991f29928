"""The hang the QEMU guest is in reaches its kernel command line, and only the known hangs do."""

from pathlib import Path

import pytest

from panic_button_sandbox.instances import InstanceSpec
from panic_button_sandbox.qemu import GuestImages, KernelPackage
from panic_button_sandbox.qemu.vm import VmFiles, qemu_command

GUEST_INIT = Path(__file__).parents[2] / "panic_button_sandbox" / "qemu" / "guest_init_first.sh"


def _append(command: list[str]) -> str:
    return command[command.index("-append") + 1]


@pytest.fixture
def vm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[GuestImages, VmFiles]:
    monkeypatch.setattr("panic_button_sandbox.qemu.vm.find_tool", lambda name: Path("/usr/bin") / name)
    kernel = KernelPackage(name="linux-image-6.1.0-57-amd64", version="6.1.192-3")
    images = GuestImages(kernel=kernel, cache_key="k", vmlinuz=tmp_path / "v", first_initrd=tmp_path / "f",
                         crash_initrd=tmp_path / "c")  # fmt: skip
    files = VmFiles(disk=tmp_path / "d", console_log=tmp_path / "c.log", qemu_log=tmp_path / "q.log",
                    qmp_socket=tmp_path / "s")  # fmt: skip
    return images, files


@pytest.mark.parametrize("hang", ["fsfreeze-writer", "rt-spin"])
def test_a_hang_is_asked_for_on_the_command_line_the_init_script_reads(
    vm: tuple[GuestImages, VmFiles], hang: str
) -> None:
    command = qemu_command(*vm, nmi_panic=True, hang=hang)  # type: ignore[arg-type]

    assert f" pb.hang={hang}" in _append(command)
    assert f"\n{hang}) hang_" in GUEST_INIT.read_text()  # the case arm that starts it


def test_no_hang_leaves_the_command_line_as_before(vm: tuple[GuestImages, VmFiles]) -> None:
    assert "pb.hang" not in _append(qemu_command(*vm, nmi_panic=True))


def test_a_qemu_instance_spec_carries_the_hang() -> None:
    assert InstanceSpec(backend="qemu", hang="fsfreeze-writer").hang == "fsfreeze-writer"
