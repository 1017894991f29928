"""After the real NMI cycle: the project's collector ships the real dump, and triage reads the real log.

Steps 4 and 5 of the real-kernel proof: collect_dump.sh locates and uploads the guest's dump through
the presigned multipart protocol to a moto S3 on 127.0.0.1, the workflow side completes and verifies
the upload, and triage reads the uploaded dmesg. Run with `pytest -m kernel -s` to see the panic line.
"""

import hashlib

import pytest
from kernel_collector import KernelCollection
from panic_button.errors import NoDumpFound
from panic_button.logic.collection import locate_or_stop
from panic_button.logic.triage import summary_lines, triage_kernel_log
from panic_button.models.collection import MIB, CollectedDump, DumpLayout, LocateResult
from panic_button.models.triage import PanicCause, TriageReport
from panic_button.outcomes import Outcome

from panic_button_sandbox.qemu import CycleResult, GuestImages

pytestmark = [pytest.mark.kernel, pytest.mark.enable_socket]

NMI_PANIC = "Kernel panic - not syncing: NMI: Not continuing"
# Small parts so the ~18 MB dump really travels as a multipart upload of several parts.
PART_SIZE = 5 * MIB


@pytest.fixture(scope="module")
def located(nmi_panic_collection: KernelCollection) -> LocateResult:
    return nmi_panic_collection.locate(min_part_size=PART_SIZE)


@pytest.fixture(scope="module")
def collected(nmi_panic_collection: KernelCollection, located: LocateResult) -> CollectedDump:
    return nmi_panic_collection.upload(locate_or_stop(located))


@pytest.fixture(scope="module")
def triage(nmi_panic_collection: KernelCollection, collected: CollectedDump) -> TriageReport:
    dmesg = nmi_panic_collection.object_bytes(nmi_panic_collection.keys.dmesg_key)
    report = triage_kernel_log(dmesg.decode("utf-8", errors="replace"))
    print(f"\n[kernel] triage of the uploaded dmesg: {report.panic_line}")
    for line in summary_lines(report):
        print(f"[kernel]   {line}")
    return report


def test_collector_locates_the_dump_kdump_wrote(nmi_panic_cycle: CycleResult, located: LocateResult) -> None:
    # Given the guest's /var/crash after NMI -> kdump -> reboot
    assert nmi_panic_cycle.dumps, nmi_panic_cycle.explain()
    stamp = nmi_panic_cycle.dumps[0].stamp
    # When collect_dump.sh runs `locate` (fixture)
    # Then it picks the Debian kdump-tools dump and its dmesg, written after the interrupt
    assert located.status == "found", located
    assert located.layout is DumpLayout.DEBIAN
    assert located.dump_path == f"/var/crash/{stamp}/dump.{stamp}"
    assert located.dmesg_path == f"/var/crash/{stamp}/dmesg.{stamp}"
    assert located.older == () and located.incomplete == ()


def test_upload_is_completed_and_verified_byte_for_byte(
    nmi_panic_collection: KernelCollection,
    nmi_panic_cycle: CycleResult,
    guest_images: GuestImages,
    collected: CollectedDump,
) -> None:
    # Given the dump the crash kernel's makedumpfile wrote
    saved = nmi_panic_cycle.dumps[0]
    assert saved.dump is not None and saved.dmesg is not None
    local = saved.dump.read_bytes()
    # When the collector uploaded it in parts and the workflow completed and verified it (fixtures)
    manifest = collected.manifest
    # Then S3 holds exactly those bytes, in several parts, with the panicked kernel's release
    assert manifest.part_count == len(manifest.parts) == -(-len(local) // PART_SIZE) > 1
    assert manifest.dump.sha256 == hashlib.sha256(local).hexdigest()
    assert nmi_panic_collection.object_bytes(manifest.dump.s3_uri.split("/", 3)[3]) == local
    assert manifest.dmesg is not None and manifest.dmesg.sha256 == hashlib.sha256(saved.dmesg.read_bytes()).hexdigest()
    assert manifest.kernel_release == guest_images.kernel.release
    assert manifest.kernel_source == "dmesg"
    assert [artifact.kind for artifact in collected.artifacts] == ["dump", "dmesg", "manifest"]


def test_triage_of_the_uploaded_dmesg_finds_the_nmi_panic(triage: TriageReport, guest_images: GuestImages) -> None:
    # Given the dmesg the collector shipped (fixture), When triage reads it (fixture)
    # Then it finds our NMI's panic line and names the diagnostic interrupt as the cause
    assert triage.panic_line is not None and NMI_PANIC in triage.panic_line
    assert triage.panic_cause is PanicCause.DIAGNOSTIC_NMI
    assert triage.unknown_nmis >= 1
    assert triage.kernel_release == guest_images.kernel.release
    assert triage.last_lines_end == "panic"


def test_guest_that_ignored_the_nmi_is_recovered_without_a_dump(ignored_nmi_collection: KernelCollection) -> None:
    # Given the guest that survived the NMI (unknown_nmi_panic=0) and left /var/crash empty
    # When the collector looks for a dump written after the interrupt
    located = ignored_nmi_collection.locate()
    # Then it finds none, which the workflow ends as RECOVERED_NO_DUMP
    assert located.status == "none", located
    assert located.dump_path is None
    with pytest.raises(NoDumpFound) as stopped:
        locate_or_stop(located)
    assert stopped.value.outcome is Outcome.RECOVERED_NO_DUMP
