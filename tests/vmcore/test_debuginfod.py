"""Symbols by build ID from debuginfod servers: the first server that has the right ELF file wins, and
every server that did not is named with its answer."""

import socket
from pathlib import Path

import pytest
from panic_button.logic.debuginfod import debuginfo_url, fetch_debuginfo
from panic_button.logic.elf_build_id import elf_build_id
from panic_button.settings import Settings

from infra.config import ConfigError, load_config
from panic_button_sandbox.debuginfod import LoopbackDebuginfod
from tests.settings_environment import ENVIRONMENT

from .elf_files import elf_with_build_id

BUILD_ID = "6a2b4ac77585b8cf102cba771300e573c8489b69"
OTHER_ID = "00112233445566778899aabbccddeeff00112233"


def _closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_the_vmlinux_comes_from_the_first_server_that_has_it(tmp_path: Path) -> None:
    # Given one server without the build ID and one with it
    vmlinux = elf_with_build_id(tmp_path / "vmlinux", bytes.fromhex(BUILD_ID))
    target = tmp_path / "fetched" / "vmlinux"
    target.parent.mkdir()
    with LoopbackDebuginfod({}) as empty, LoopbackDebuginfod({BUILD_ID: vmlinux}) as holder:
        # When the vmlinux is fetched by build ID
        fetch = fetch_debuginfo([empty.url, holder.url + "/"], BUILD_ID, target)
    # Then the second server served it, byte for byte, and the first is named with its 404
    assert fetch.served_by == holder.url + "/"
    assert target.read_bytes() == vmlinux.read_bytes() and elf_build_id(target) == BUILD_ID
    assert [(miss.server, miss.reason) for miss in fetch.misses] == [(empty.url, "404 Not found")]
    assert empty.requests == holder.requests == [f"/buildid/{BUILD_ID}/debuginfo"]
    assert list(target.parent.iterdir()) == [target]


def test_a_wrong_or_non_elf_answer_and_an_unreachable_server_are_misses(tmp_path: Path) -> None:
    # Given a server that answers with another build's vmlinux, one that answers HTML, and one that is down
    other = elf_with_build_id(tmp_path / "other", bytes.fromhex(OTHER_ID))
    target = tmp_path / "vmlinux"
    down = _closed_port()
    with (LoopbackDebuginfod({}, answers={BUILD_ID: other.read_bytes()}) as liar,
          LoopbackDebuginfod({}, answers={BUILD_ID: b"<html>login</html>"}) as portal):
        # When the vmlinux is fetched
        fetch = fetch_debuginfo([liar.url, portal.url, down], BUILD_ID, target, timeout=5.0)
    # Then nothing is kept, and each server's miss says why
    assert fetch.served_by is None
    assert not target.exists() and list(tmp_path.iterdir()) == [other]
    reasons = {miss.server: miss.reason for miss in fetch.misses}
    assert reasons[liar.url] == f"build ID mismatch: the answer has {OTHER_ID}"
    assert reasons[portal.url] == "the answer is not an ELF file"
    assert "refused" in reasons[down].lower()


def test_no_servers_asks_no_one(tmp_path: Path) -> None:
    fetch = fetch_debuginfo([], BUILD_ID, tmp_path / "vmlinux")

    assert fetch.served_by is None and fetch.misses == []


def test_the_url_is_debuginfods_buildid_path() -> None:
    assert debuginfo_url("https://debuginfod.ubuntu.com/", BUILD_ID) == (
        f"https://debuginfod.ubuntu.com/buildid/{BUILD_ID}/debuginfo"
    )


def test_cdk_json_takes_https_servers_only_and_the_function_reads_them_as_debuginfod_urls() -> None:
    servers = ["https://debuginfod.ubuntu.com", "https://debuginfod.fedoraproject.org/"]
    config = load_config({"panic-button:debuginfod-urls": servers})
    settings = Settings.model_validate({**ENVIRONMENT, "DEBUGINFOD_URLS": " ".join(config.debuginfod_urls)})

    assert settings.debuginfod_servers == tuple(servers)
    assert load_config({}).debuginfod_urls == ()
    with pytest.raises(ConfigError, match=r"panic-button:debuginfod-urls.*not an https:// debuginfod server URL"):
        load_config({"panic-button:debuginfod-urls": ["http://debuginfod.example.com"]})

