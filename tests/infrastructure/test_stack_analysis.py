"""The TriageDump function runs the vmcore analysis: drgn in its own asset, /tmp sized for dump and vmlinux."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from stack_template import Resources, of_type

from infra.analysis_asset import AnalysisAssetError, analysis_asset

HANDLER = "panic_button.handlers.handle_triage_dump.lambda_handler"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def triage_function(resources: Resources) -> dict[str, Any]:
    [props] = [f["Properties"] for f in of_type(resources, "AWS::Lambda::Function").values()
               if f["Properties"]["Handler"] == HANDLER]  # fmt: skip
    return props


def test_triage_has_ephemeral_storage_for_the_dump_and_a_vmlinux(triage_function: dict[str, Any]) -> None:
    ephemeral = triage_function["EphemeralStorage"]["Size"]
    max_dump = int(triage_function["Environment"]["Variables"]["ANALYSIS_MAX_DUMP_BYTES"])

    assert triage_function["Architectures"] == ["x86_64"]
    assert ephemeral == 2048
    assert max_dump == (ephemeral - 1024) * MIB  # what is left once a distro vmlinux is on /tmp


def test_triage_asks_no_debuginfod_server_unless_configured(triage_function: dict[str, Any]) -> None:
    # The default stack sends nothing outside AWS: debuginfod servers are opt-in (panic-button:debuginfod-urls).
    assert triage_function["Environment"]["Variables"]["DEBUGINFOD_URLS"] == ""
    assert "VpcConfig" not in triage_function  # configured servers are reached through Lambda's own egress


def test_only_the_triage_function_carries_drgn(resources: Resources, cloud_assembly: Path) -> None:
    assets = {f["Properties"]["Handler"]: f["Metadata"]["aws:asset:path"]
              for f in of_type(resources, "AWS::Lambda::Function").values()}  # fmt: skip
    with_drgn = {handler for handler, path in assets.items() if (cloud_assembly / path / "_drgn.pyi").is_file()}

    assert with_drgn == {HANDLER}
    # And the asset holds the same domain code as every other function, plus drgn's native library
    triage_asset = cloud_assembly / assets[HANDLER]
    assert (triage_asset / "panic_button" / "logic" / "vmcore_analysis.py").is_file()
    assert list(triage_asset.glob("_drgn.cpython-314-x86_64-linux-gnu.so"))


def test_the_asset_is_rebuilt_when_the_code_changes(tmp_path: Path) -> None:
    source, wheels = tmp_path / "lambdas", tmp_path / "wheels"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg" / "step.py").write_text("A = 1\n")
    wheels.mkdir()
    with zipfile.ZipFile(wheels / "drgn-0.3.0-cp314-cp314-manylinux2014_x86_64.whl", "w") as wheel:
        wheel.writestr("drgn/__init__.py", "")

    first = analysis_asset(source, wheels, tmp_path / "staging")
    again = analysis_asset(source, wheels, tmp_path / "staging")
    (source / "pkg" / "step.py").write_text("A = 2\n")
    changed = analysis_asset(source, wheels, tmp_path / "staging")

    assert again == first and changed != first
    assert (changed / "pkg" / "step.py").read_text() == "A = 2\n" and (changed / "drgn" / "__init__.py").is_file()
    assert sorted(p.name for p in (tmp_path / "staging").iterdir()) == [changed.name]  # the stale build is gone


def test_a_missing_wheel_names_the_command_that_fetches_it(tmp_path: Path) -> None:
    (tmp_path / "lambdas").mkdir()
    with pytest.raises(AnalysisAssetError, match="pip download --no-deps --platform manylinux2014_x86_64"):
        analysis_asset(tmp_path / "lambdas", tmp_path, tmp_path / "staging")
