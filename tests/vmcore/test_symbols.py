"""Debug symbols by build ID: reading the note, naming the package, filing and fetching the vmlinux."""

import random
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from panic_button.logic.elf_build_id import NotAnElfFile, elf_build_id
from panic_button.logic.kernel_symbols import debug_package, debug_vmlinux, how_to_add, open_dump_commands, symbols_key
from panic_button.logic.vmcore_program import find_vmlinux

from panic_button_cli.symbols_store import SymbolsError, add_symbols, download_symbols, upload_symbols

from .elf_files import debug_deb, elf_with_build_id
from .rpm_files import kernel_debuginfo_rpm, rpm_package

BUILD_ID = bytes.fromhex("6a2b4ac77585b8cf102cba771300e573c8489b69")
OTHER_ID = bytes.fromhex("00112233445566778899aabbccddeeff00112233")


def test_build_id_is_read_from_the_gnu_note_past_other_notes(tmp_path: Path) -> None:
    xen_note = b"\x04\0\0\0\x08\0\0\0\x05\0\0\0Xen\0" + b"\1" * 8
    elf = elf_with_build_id(tmp_path / "vmlinux", BUILD_ID, other_notes=xen_note)

    assert elf_build_id(elf) == BUILD_ID.hex()


def test_elf_without_build_id_and_non_elf_files_are_told_apart(tmp_path: Path) -> None:
    (tmp_path / "vmlinuz").write_bytes(b"MZ" + b"\0" * 200)

    assert elf_build_id(elf_with_build_id(tmp_path / "stripped", None)) is None
    with pytest.raises(NotAnElfFile):
        elf_build_id(tmp_path / "vmlinuz")


@pytest.mark.parametrize(
    ("release", "package"),
    [
        ("6.1.0-57-amd64", "linux-image-6.1.0-57-amd64-dbg"),
        ("6.1.0-57-cloud-amd64", "linux-image-6.1.0-57-cloud-amd64-dbg"),
        ("6.8.0-1021-aws", "linux-image-unsigned-6.8.0-1021-aws-dbgsym"),
        ("5.15.0-119-generic", "linux-image-unsigned-5.15.0-119-generic-dbgsym"),
        ("6.1.141-165.249.amzn2023.x86_64", "kernel-debuginfo-6.1.141-165.249.amzn2023.x86_64"),
        ("5.14.0-427.13.1.el9_4.x86_64", "kernel-debuginfo-5.14.0-427.13.1.el9_4.x86_64"),
        ("6.9.0-custom", None),
    ],
)
def test_debug_package_follows_the_distro_naming(release: str, package: str | None) -> None:
    assert debug_package(release) == package


def test_how_to_add_names_the_package_and_the_build_id_key() -> None:
    steps = how_to_add("6.1.0-57-amd64", BUILD_ID.hex(), "linux-image-6.1.0-57-amd64-dbg")

    assert steps[0].startswith("apt-get download linux-image-6.1.0-57-amd64-dbg ")
    assert steps[1].startswith("panic-button symbols add linux-image-6.1.0-57-amd64-dbg_*.deb --bucket")
    assert f"symbols/{BUILD_ID.hex()}/vmlinux" in steps[-1]


def test_symbols_key_refuses_what_is_not_a_build_id() -> None:
    assert symbols_key(BUILD_ID.hex()) == f"symbols/{BUILD_ID.hex()}/vmlinux"
    with pytest.raises(ValueError, match="not a build ID"):
        symbols_key("../../etc/passwd")


def test_add_from_a_debug_deb_files_only_the_vmlinux_under_its_build_id(tmp_path: Path) -> None:
    deb = debug_deb(tmp_path, "6.1.0-57-amd64", BUILD_ID)
    store = tmp_path / "store"

    build_id, vmlinux = add_symbols(str(deb), store)

    assert build_id == BUILD_ID.hex()
    assert vmlinux == store / BUILD_ID.hex() / "vmlinux"
    assert elf_build_id(vmlinux) == BUILD_ID.hex()
    assert sorted(p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file()) == [
        f"{BUILD_ID.hex()}/vmlinux"
    ]


@pytest.mark.parametrize("compressor", ["zstd", "xz", "bzip2", "gzip", None])
def test_add_from_a_kernel_debuginfo_rpm_files_only_the_vmlinux_under_its_build_id(
    tmp_path: Path, compressor: str | None
) -> None:
    # Given a kernel-debuginfo RPM as Amazon Linux, RHEL and Fedora ship it, payload compressed either way
    release = "6.1.141-165.249.amzn2023.x86_64"
    vmlinux = elf_with_build_id(tmp_path / "built-vmlinux", BUILD_ID).read_bytes()
    rpm = kernel_debuginfo_rpm(tmp_path, release, vmlinux, compressor)
    store = tmp_path / "store"
    # When it is added
    build_id, filed = add_symbols(str(rpm), store)
    # Then only its vmlinux is filed, byte for byte, under the build ID
    assert build_id == BUILD_ID.hex()
    assert filed.read_bytes() == vmlinux
    assert [p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file()] == [
        f"{BUILD_ID.hex()}/vmlinux"
    ]


def test_an_rpm_without_a_vmlinux_or_not_an_rpm_is_refused_by_name(tmp_path: Path) -> None:
    common = rpm_package(tmp_path / "kernel-debuginfo-common-x86_64.rpm", "kernel-debuginfo-common-x86_64",
                         [("./usr/src/debug/kernel/fs/ext4/inode.c", 0o100644, b"/* source */")], "xz")
    fake = tmp_path / "kernel-debuginfo-6.1.rpm"
    fake.write_bytes(b"<html>404</html>")
    # a vmlinux that does not compress, so that cutting the package's tail cuts into it
    big = elf_with_build_id(tmp_path / "v", BUILD_ID).read_bytes() + random.Random(11).randbytes(256 * 1024)
    whole = kernel_debuginfo_rpm(tmp_path, "5.14.0-427.el9.x86_64", big, "gzip")
    cut = tmp_path / "cut.rpm"
    cut.write_bytes(whole.read_bytes()[:-128 * 1024])

    with pytest.raises(SymbolsError, match=r"holds no usr/lib/debug/lib/modules/\*/vmlinux"):
        add_symbols(str(common), tmp_path / "store")
    with pytest.raises(SymbolsError, match="is not an RPM package"):
        add_symbols(str(fake), tmp_path / "store")
    with pytest.raises(SymbolsError, match="truncated"):
        add_symbols(str(cut), tmp_path / "store")


def test_an_rpm_name_is_not_given_to_apt(tmp_path: Path) -> None:
    with pytest.raises(SymbolsError, match=r"dnf download --enablerepo='\*debuginfo\*' kernel-debuginfo-5\.14"):
        add_symbols("kernel-debuginfo-5.14.0-427.13.1.el9_4.x86_64", tmp_path / "store")


def test_add_refuses_a_vmlinux_without_build_id(tmp_path: Path) -> None:
    stripped = elf_with_build_id(tmp_path / "vmlinux", None)

    with pytest.raises(SymbolsError, match="no GNU build ID"):
        add_symbols(str(stripped), tmp_path / "store")


def test_find_vmlinux_matches_the_dumps_build_id_not_the_name(tmp_path: Path) -> None:
    wrong = elf_with_build_id(tmp_path / "vmlinux-6.1.0-57-amd64", OTHER_ID)
    store = tmp_path / "store"
    add_symbols(str(elf_with_build_id(tmp_path / "right", BUILD_ID)), store)

    assert find_vmlinux(BUILD_ID.hex(), [wrong], None) is None
    assert find_vmlinux(BUILD_ID.hex(), [tmp_path], store) == store / BUILD_ID.hex() / "vmlinux"


def test_symbols_round_trip_through_the_evidence_bucket(tmp_path: Path) -> None:
    vmlinux = elf_with_build_id(tmp_path / "vmlinux", BUILD_ID)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="evidence")

        uri = upload_symbols(s3, "evidence", BUILD_ID.hex(), vmlinux)
        fetched = download_symbols(s3, "evidence", BUILD_ID.hex(), tmp_path / "store")
        absent = download_symbols(s3, "evidence", OTHER_ID.hex(), tmp_path / "store")

    assert uri == f"s3://evidence/symbols/{BUILD_ID.hex()}/vmlinux"
    assert fetched is not None and fetched.read_bytes() == vmlinux.read_bytes()
    assert absent is None


@pytest.mark.parametrize(("release", "vmlinux"), [
    ("6.1.0-57-amd64", "/usr/lib/debug/boot/vmlinux-6.1.0-57-amd64"),
    ("5.15.0-1051-aws", "/usr/lib/debug/boot/vmlinux-5.15.0-1051-aws"),
    ("6.1.79-99.164.amzn2023.x86_64", "/usr/lib/debug/lib/modules/6.1.79-99.164.amzn2023.x86_64/vmlinux"),
    ("4.18.0-513.5.1.el8_9.x86_64", "/usr/lib/debug/lib/modules/4.18.0-513.5.1.el8_9.x86_64/vmlinux"),
])
def test_the_debug_vmlinux_is_where_its_package_installs_it(release: str, vmlinux: str) -> None:
    assert debug_vmlinux(release) == vmlinux
    assert open_dump_commands("/var/tmp/dump.1", release) == [f"crash {vmlinux} ./dump.1",
                                                              f"drgn -c ./dump.1 -s {vmlinux}"]


def test_how_to_add_an_rpm_kernel_downloads_the_debuginfo_rpm_and_adds_it_whole() -> None:
    release = "5.14.0-427.13.1.el9_4.x86_64"
    steps = how_to_add(release, BUILD_ID.hex(), f"kernel-debuginfo-{release}")

    assert steps[0].startswith(f"dnf download --enablerepo='*debuginfo*' kernel-debuginfo-{release} ")
    assert steps[1] == f"panic-button symbols add kernel-debuginfo-{release}.rpm --bucket <evidence bucket>"
