"""The vmcore analysis on dumps of a really hung Debian kernel, with and without its debug symbols.

(a) fsfreeze-writer: dd writers sleep in D state on a frozen ext4 when the NMI comes;
(b) rt-spin: SCHED_FIFO busy loops hold every vCPU (RT throttling off), the heartbeat has stopped.
The symbols are Debian's linux-image-<abi>-amd64-dbg for the guest's exact kernel, cached in .cache/.
"""

import re
import time
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from panic_button.logic.collected_dump_analysis import analyse_collected_dump
from panic_button.logic.elf_build_id import elf_build_id
from panic_button.logic.vmcore_analysis import analyse_vmcore, dump_report, write_report
from panic_button.models.state import Artifact, Collection
from panic_button.models.triage import PanicCause
from panic_button.models.vmcore import DumpReport, LockupKind

from panic_button_sandbox.debuginfod import LoopbackDebuginfod
from panic_button_sandbox.qemu import CycleResult, GuestImages

pytestmark = [pytest.mark.kernel, pytest.mark.enable_socket]

# The goal: the analysis adds under 10 s to a rescue for the test guest's dump.
ANALYSIS_BUDGET_SECONDS = 10.0
SOURCE_LINE = re.compile(r"^[\w./-]+\.[chS]:\d+:\d+$")


def _analysed(cycle: CycleResult, symbols: list[Path]) -> DumpReport:
    assert cycle.ok and cycle.dumps, cycle.explain()
    saved = cycle.dumps[0]
    assert saved.dump is not None and saved.dmesg is not None, cycle.explain()
    started = time.monotonic()
    analysis = analyse_vmcore(saved.dump, symbols=symbols)
    report = dump_report(analysis, saved.dmesg.read_text(errors="replace"))
    write_report(report, saved.folder)
    print(f"\n[kernel] culprit ({cycle.hang}): {report.culprit} [{time.monotonic() - started:.1f}s]")
    return report


def test_fsfreeze_writer_is_named_with_its_blocked_stack(fsfreeze_cycle: CycleResult, guest_vmlinux: Path) -> None:
    # Given the dump of a guest whose dd writers were blocked on a frozen filesystem
    # When it is analysed with the kernel's debug symbols
    started = time.monotonic()
    report = _analysed(fsfreeze_cycle, [guest_vmlinux])
    elapsed = time.monotonic() - started
    analysis = report.vmcore
    assert analysis is not None and analysis.status == "analysed", analysis
    # Then the culprit names the blocked writers, where they wait, and why
    assert report.culprit is not None
    assert re.match(r"3 tasks blocked in percpu_rwsem_wait <- ", report.culprit), report.culprit
    assert "(filesystem frozen?)" in report.culprit and "dd (pid " in report.culprit
    # And every writer is in D state with a symbolized stack carrying source lines
    writers = [task for task in analysis.blocked_tasks if task.comm == "dd"]
    assert len(writers) == 3, [task.label for task in analysis.blocked_tasks]
    for writer in writers:
        frames = {frame.function: frame for frame in writer.frames}
        for function in ("percpu_rwsem_wait", "__sb_start_write", "mnt_want_write"):
            assert function in frames, [str(frame) for frame in writer.frames]
        assert frames["percpu_rwsem_wait"].source is not None
        assert frames["percpu_rwsem_wait"].source.startswith("kernel/locking/percpu-rwsem.c:")
        assert all(SOURCE_LINE.match(f.source) for f in writer.frames if f.source), writer.frames
    assert next(group.count for group in analysis.stack_groups if group.state == "D") == 3
    # And the log triage is kept in the same report, and the report files are beside the dump
    assert report.kernel_log is not None and report.kernel_log.panic_cause is PanicCause.DIAGNOSTIC_NMI
    folder = fsfreeze_cycle.dumps[0].folder
    assert report.culprit in (folder / "report.md").read_text()
    assert DumpReport.model_validate_json((folder / "report.json").read_text()) == report
    assert elapsed < ANALYSIS_BUDGET_SECONDS


def test_rt_spinners_are_named_on_every_cpu(rt_spin_cycle: CycleResult, guest_vmlinux: Path) -> None:
    # Given the dump of a guest whose CPUs were all held by SCHED_FIFO busy loops
    # When it is analysed with the kernel's debug symbols
    report = _analysed(rt_spin_cycle, [guest_vmlinux])
    analysis = report.vmcore
    assert analysis is not None and analysis.status == "analysed", analysis
    # Then every CPU was running a pb-spin task, SCHED_FIFO, interrupted in user space
    assert len(analysis.cpus) == 2
    for state in analysis.cpus:
        assert state.task.comm == "pb-spin", state.task
        assert state.task.policy == "SCHED_FIFO" and state.task.rt_priority == 50
        assert state.task.in_user_space
    pids = [state.task.pid for state in analysis.cpus]
    assert len(set(pids)) == 2
    # And the monopoly is a lockup sign on each CPU, and the culprit line names the spinners
    assert {sign.cpu for sign in analysis.lockup_signs if sign.kind is LockupKind.RT_MONOPOLY} == {0, 1}
    assert report.culprit == (
        f"CPU 0 and CPU 1 monopolised by SCHED_FIFO tasks pb-spin (pid {pids[0]}, {pids[1]}) in user space"
    )


def test_without_symbols_the_report_says_what_is_missing(
    fsfreeze_cycle: CycleResult, guest_images: GuestImages, tmp_path: Path
) -> None:
    # Given the real dump and no vmlinux anywhere the analysis looks
    assert fsfreeze_cycle.dumps and fsfreeze_cycle.dumps[0].dump is not None, fsfreeze_cycle.explain()
    saved = fsfreeze_cycle.dumps[0]
    assert saved.dump is not None and saved.dmesg is not None
    # When it is analysed
    analysis = analyse_vmcore(saved.dump, symbols=[tmp_path], symbols_root=tmp_path / "store")
    report = dump_report(analysis, saved.dmesg.read_text(errors="replace"))
    # Then it names the kernel, its build ID and the Debian package that has the symbols
    assert analysis.status == "no_symbols"
    missing = analysis.missing_symbols
    assert missing is not None
    assert missing.release == guest_images.kernel.release
    assert missing.package == f"{guest_images.kernel.name}-dbg"
    assert missing.build_id is not None and re.fullmatch(r"[0-9a-f]{40}", missing.build_id)
    assert any(f"symbols/{missing.build_id}/vmlinux" in step for step in missing.how_to_add)
    assert any(step.startswith(f"apt-get download {missing.package}") for step in missing.how_to_add)
    # And gives what the dump offers without types: kallsyms names and the vmcoreinfo
    assert missing.kallsyms_symbols is not None and missing.kallsyms_symbols > 10_000
    assert missing.crash_time is not None
    # And the log triage still ran, and leads the culprit line
    assert report.kernel_log is not None and report.kernel_log.panic_cause is PanicCause.DIAGNOSTIC_NMI
    assert report.culprit is not None and missing.build_id in report.culprit
    assert "Kernel panic - not syncing: NMI: Not continuing" in report.culprit


def test_build_id_in_the_dump_is_the_debug_vmlinux(fsfreeze_cycle: CycleResult, guest_vmlinux: Path) -> None:
    # Given the dump and Debian's -dbg vmlinux for the same kernel version
    assert fsfreeze_cycle.dumps and fsfreeze_cycle.dumps[0].dump is not None, fsfreeze_cycle.explain()
    # When the dump's vmcoreinfo is read without symbols
    analysis = analyse_vmcore(fsfreeze_cycle.dumps[0].dump, symbols=[])
    # Then its build ID is the vmlinux's: that is how the symbols store finds it
    assert analysis.kernel.build_id == elf_build_id(guest_vmlinux)


def test_symbols_the_bucket_lacks_come_from_debuginfod_by_build_id(
    fsfreeze_cycle: CycleResult, guest_vmlinux: Path, tmp_path: Path
) -> None:
    # Given the collected dump in an evidence bucket without symbols/, a debuginfod server without this
    # kernel, and one with its vmlinux (both on 127.0.0.1, as the stack's panic-button:debuginfod-urls)
    assert fsfreeze_cycle.dumps and fsfreeze_cycle.dumps[0].dump is not None, fsfreeze_cycle.explain()
    dump = fsfreeze_cycle.dumps[0].dump
    build_id = elf_build_id(guest_vmlinux)
    assert build_id is not None
    key = f"remediations/i-0kernel/exec-1/dump/{dump.name}"
    collection = Collection(artifacts=[Artifact(kind="dump", s3_uri=f"s3://evidence/{key}",
                                                bytes=dump.stat().st_size)], dump_bytes=dump.stat().st_size)
    with mock_aws(), LoopbackDebuginfod({}) as empty, LoopbackDebuginfod({build_id: guest_vmlinux}) as holder:
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="evidence")
        s3.upload_file(str(dump), "evidence", key)
        # When the workflow's analysis runs with the empty server first, then with it alone
        started = time.monotonic()
        fetched = analyse_collected_dump(s3, bucket="evidence", collection=collection, max_dump_bytes=1 << 34,
                                         scratch_root=tmp_path, debuginfod_servers=(empty.url, holder.url))
        elapsed = time.monotonic() - started
        missing = analyse_collected_dump(s3, bucket="evidence", collection=collection, max_dump_bytes=1 << 34,
                                         scratch_root=tmp_path, debuginfod_servers=(empty.url,))
    print(f"\n[kernel] debuginfod: vmlinux fetched over loopback and dump analysed in {elapsed:.1f}s")
    # Then the second server's vmlinux typed the dump, and the report says where it came from
    assert fetched is not None and fetched.status == "analysed", fetched
    assert fetched.symbols_source == f"{holder.url}/buildid/{build_id}/debuginfo"
    assert fetched.culprit is not None and fetched.culprit.startswith("3 tasks blocked in percpu_rwsem_wait")
    # And with no server holding it, the report lists each place asked and what it answered
    assert missing is not None and missing.status == "no_symbols" and missing.missing_symbols is not None
    assert missing.missing_symbols.looked_in == [
        f"s3://evidence/symbols/{build_id}/vmlinux: not stored",
        f"{empty.url}/buildid/{build_id}/debuginfo: 404 Not found",
    ]
    # And the scratch space of both runs is gone (the function's /tmp is reused between invocations)
    assert list(tmp_path.iterdir()) == []
