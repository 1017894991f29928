"""The whole workflow on a really hung guest, with its symbols in the bucket: the record names the culprit.

`simulate` with {"backend": "qemu", "hang": "fsfreeze-writer"}: the guest's dd writers are blocked on a
frozen filesystem when SendDiagnosticInterrupt (a QMP NMI) arrives. Debian's vmlinux for the guest's
kernel is uploaded to symbols/<build-id>/vmlinux first, as `panic-button symbols add --bucket` would.
"""

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from panic_button.logic.elf_build_id import elf_build_id

from panic_button_cli.sandbox_session import open_sandbox
from panic_button_cli.simulation import SimulationReport, simulate
from panic_button_cli.symbols_store import upload_symbols
from panic_button_sandbox.instances import InstanceSpec
from panic_button_sandbox.qemu import GuestImages
from panic_button_sandbox.qemu.backend import use_guest_images
from panic_button_sandbox.sandbox import Sandbox

pytestmark = [pytest.mark.kernel, pytest.mark.enable_socket]

TIME_SCALE = 10.0


@pytest.fixture(scope="module")
def hung_run(
    guest_images: GuestImages, guest_vmlinux: Path, cdk_out: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Sandbox, SimulationReport]]:
    use_guest_images(guest_images)
    spec = InstanceSpec(backend="qemu", hang="fsfreeze-writer", tags={"PanicButton": "enabled", "Name": "frozen-1"})
    trigger = json.dumps({"instance_id": "${INSTANCE_ID}", "reason": "real kernel: writes hang"})
    workdir = tmp_path_factory.mktemp("kernel-workflow-hang")
    with open_sandbox(workdir / "sandbox", cdk_out, TIME_SCALE) as (sandbox, deployment):
        build_id = elf_build_id(guest_vmlinux)
        assert build_id is not None
        upload_symbols(sandbox.client("s3"), deployment.outputs["EvidenceBucketName"], build_id, guest_vmlinux)
        with (workdir / "lambda-logs.jsonl").open("w") as logs, contextlib.redirect_stdout(logs):
            report = simulate(sandbox, deployment, spec, [("input", trigger)])
        [result] = report.results
        culprit = (result.record or {}).get("culprit")
        print(f"\n[kernel] workflow on the hung guest: {result.outcome}: culprit: {culprit}")
        yield sandbox, report


def _json(sandbox: Sandbox, s3_uri: str) -> Any:
    bucket, key = s3_uri.removeprefix("s3://").split("/", 1)
    return json.loads(sandbox.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def test_workflow_names_the_blocked_writers_in_the_record(hung_run: tuple[Sandbox, SimulationReport]) -> None:
    # Given a rescue of the hung guest (fixture)
    sandbox, report = hung_run
    [result] = report.results
    # Then the dump is collected as ever, and the record's culprit names the writers and where they wait
    assert result.outcome == "DUMP_COLLECTED", result.reason
    assert result.record is not None
    culprit = result.record["culprit"]
    assert culprit.startswith("3 tasks blocked in percpu_rwsem_wait <- "), culprit
    assert "(filesystem frozen?)" in culprit and "dd (pid " in culprit
    # And report.json beside the dump holds the analysis with source lines, and the log triage
    report_uri = next(a.s3_uri for a in result.artifacts if a.s3_uri.endswith("/report.json"))
    document = _json(sandbox, report_uri)
    assert document["vmcore"]["status"] == "analysed"
    [writer, *_] = [t for t in document["vmcore"]["blocked_tasks"] if t["comm"] == "dd"]
    sources = {frame["function"]: frame["source"] for frame in writer["frames"]}
    assert sources["mnt_want_write"].startswith("fs/namespace.c:")
    assert document["kernel_log"]["panic_cause"] == "diagnostic_nmi"
