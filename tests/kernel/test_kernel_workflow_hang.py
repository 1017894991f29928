"""The whole workflow on a really hung guest, with its symbols in the bucket: the record names the culprit.

`simulate` with {"backend": "qemu", "hang": ...}, once per scenario:
(a) fsfreeze-writer: the guest's dd writers are blocked on a frozen filesystem when SendDiagnosticInterrupt
    (a QMP NMI) arrives;
(b) rt-spin: a SCHED_FIFO pb-spin busy loop holds each vCPU (RT throttling off) and the heartbeat stopped.
Debian's vmlinux for the guest's kernel is uploaded to symbols/<build-id>/vmlinux first, as
`panic-button symbols add --bucket` would.
"""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from lambda_logs import lambda_logs_to
from panic_button.logic.elf_build_id import elf_build_id

from panic_button_cli.sandbox_session import open_sandbox
from panic_button_cli.simulation import SimulationReport, TriggerResult, simulate
from panic_button_cli.symbols_store import upload_symbols
from panic_button_sandbox.instances import InstanceSpec
from panic_button_sandbox.qemu import GuestImages
from panic_button_sandbox.qemu.backend import use_guest_images
from panic_button_sandbox.sandbox import Sandbox

pytestmark = [pytest.mark.kernel, pytest.mark.enable_socket]

# Slower than the qemu backend's default 10: the 20-minute recovery budget is then 240 s, while a loaded
# 2-core machine measured 115-123 s from the NMI to the guest back online (120 s at 10 x failed NOT_RECOVERED).
TIME_SCALE = 5.0
# The record of the rescue and report.json beside its dump (None when the run wrote none).
HungRun = tuple[TriggerResult, dict[str, Any] | None]


def _hung_run(
    hang: str, name: str, *, guest_images: GuestImages, guest_vmlinux: Path, sandbox_cdk_out: Path, workdir: Path
) -> HungRun:
    """One rescue of a guest in `hang`; the sandbox is closed before the tests read the result (one
    sandbox per process, and the next scenario needs its own)."""
    use_guest_images(guest_images)
    spec = InstanceSpec(backend="qemu", hang=hang, tags={"PanicButton": "enabled", "Name": name})
    trigger = json.dumps({"instance_id": "${INSTANCE_ID}", "reason": f"real kernel: {hang}"})
    with open_sandbox(workdir / "sandbox", sandbox_cdk_out, TIME_SCALE) as (sandbox, deployment):
        build_id = elf_build_id(guest_vmlinux)
        assert build_id is not None
        upload_symbols(sandbox.client("s3"), deployment.outputs["EvidenceBucketName"], build_id, guest_vmlinux)
        with lambda_logs_to(workdir / "lambda-logs.jsonl"):
            report: SimulationReport = simulate(sandbox, deployment, spec, [("input", trigger)])
        [result] = report.results
        culprit = (result.record or {}).get("culprit")
        print(f"\n[kernel] workflow on the {hang} guest: {result.outcome}: culprit: {culprit}")
        return result, _report(sandbox, result)


@pytest.fixture(scope="module")
def frozen_run(
    guest_images: GuestImages, guest_vmlinux: Path, sandbox_cdk_out: Path, tmp_path_factory: pytest.TempPathFactory
) -> HungRun:
    workdir = tmp_path_factory.mktemp("kernel-workflow-fsfreeze")
    return _hung_run("fsfreeze-writer", "frozen-1", guest_images=guest_images, guest_vmlinux=guest_vmlinux,
                     sandbox_cdk_out=sandbox_cdk_out, workdir=workdir)


@pytest.fixture(scope="module")
def spinning_run(
    guest_images: GuestImages, guest_vmlinux: Path, sandbox_cdk_out: Path, tmp_path_factory: pytest.TempPathFactory
) -> HungRun:
    workdir = tmp_path_factory.mktemp("kernel-workflow-rt-spin")
    return _hung_run("rt-spin", "spinning-1", guest_images=guest_images, guest_vmlinux=guest_vmlinux,
                     sandbox_cdk_out=sandbox_cdk_out, workdir=workdir)


def _report(sandbox: Sandbox, result: TriggerResult) -> dict[str, Any] | None:
    """report.json beside the dump, as the TriageDump step wrote it."""
    report_uri = next((a.s3_uri for a in result.artifacts if a.s3_uri.endswith("/report.json")), None)
    if report_uri is None:
        return None
    bucket, key = report_uri.removeprefix("s3://").split("/", 1)
    return dict(json.loads(sandbox.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()))


def test_workflow_names_the_blocked_writers_in_the_record(frozen_run: HungRun) -> None:
    # Given a rescue of the guest whose writers are blocked on a frozen filesystem (fixture)
    result, document = frozen_run
    # Then the dump is collected as ever, and the record's culprit names the writers and where they wait
    assert result.outcome == "DUMP_COLLECTED", result.reason
    assert result.record is not None
    culprit = result.record.get("culprit")
    assert culprit is not None, result.record.get("triage_summary")  # "Triage failed (<error>)" when it did
    assert culprit.startswith("3 tasks blocked in percpu_rwsem_wait <- "), culprit
    assert "(filesystem frozen?)" in culprit and "dd (pid " in culprit
    # And report.json beside the dump holds the analysis with source lines, and the log triage
    assert document is not None, [a.s3_uri for a in result.artifacts]
    assert document["vmcore"]["status"] == "analysed"
    [writer, *_] = [t for t in document["vmcore"]["blocked_tasks"] if t["comm"] == "dd"]
    sources = {frame["function"]: frame["source"] for frame in writer["frames"]}
    assert sources["mnt_want_write"].startswith("fs/namespace.c:")
    assert sources["percpu_rwsem_wait"].startswith("kernel/locking/percpu-rwsem.c:")
    assert document["kernel_log"]["panic_cause"] == "diagnostic_nmi"


def test_workflow_names_the_spinning_task_on_each_cpu(spinning_run: HungRun) -> None:
    # Given a rescue of the guest whose every vCPU is held by a SCHED_FIFO busy loop (fixture)
    result, document = spinning_run
    # Then the dump is collected as ever
    assert result.outcome == "DUMP_COLLECTED", result.reason
    assert result.record is not None
    # And report.json names, for each CPU, the pb-spin task it was running when the NMI came
    assert document is not None, [a.s3_uri for a in result.artifacts]
    assert document["vmcore"]["status"] == "analysed"
    cpus = document["vmcore"]["cpus"]
    assert [state["cpu"] for state in cpus] == [0, 1]
    for state in cpus:
        assert state["task"]["comm"] == "pb-spin", state["task"]
        assert state["task"]["policy"] == "SCHED_FIFO"
    pids = [state["task"]["pid"] for state in cpus]
    assert len(set(pids)) == 2
    # And the record's culprit names both CPUs and both spinners by pid
    culprit = result.record.get("culprit")
    assert culprit is not None, result.record.get("triage_summary")  # "Triage failed (<error>)" when it did
    assert re.fullmatch(r"CPU 0 and CPU 1 monopolised by SCHED_FIFO tasks pb-spin \(pid \d+, \d+\) in user space",
                        culprit), culprit
    assert all(str(pid) in culprit for pid in pids)
