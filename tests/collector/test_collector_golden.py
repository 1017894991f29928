"""The protocol's golden rules, checked against every copy of the collector the project runs: the Linux
script (under dash) and the Windows emulation (PowerShell cannot run here; collect_dump.ps1 mirrors
it). One contract, so the copies cannot drift apart."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from collector_harness import SHELLS, Collection, InstanceRoot, run_linux_collector
from panic_button.errors import CollectionFailed
from panic_button.logic.collection_plan import read_locate_result, write_locate_manifest
from panic_button.logic.collection_s3 import MANIFEST_KEY_HEADER
from panic_button.models.collection import MIB, CollectorAction, LocateResult, SsmReport

from infra.ssm.documents import SCRIPTS
from panic_button_sandbox import windows_collector
from panic_button_sandbox.windows_collector import run_windows_collector

INTERRUPTED_AT = datetime.now(UTC) - timedelta(seconds=60)
FRESH = time.time() - 30
Run = Callable[[InstanceRoot, str, str], tuple[int, str, str]]


def _linux(root: InstanceRoot, action: str, url: str) -> tuple[int, str, str]:
    ran = run_linux_collector(SHELLS[0], root, action, url)
    return ran.returncode, ran.stdout, ran.stderr


def _windows(root: InstanceRoot, action: str, url: str) -> tuple[int, str, str]:
    return run_windows_collector({"Action": action, "ManifestUrl": url}, root.path)


COLLECTORS: dict[str, tuple[Run, str]] = {
    "linux": (_linux, "var/crash/127.0.0.1-2026-05-01-10:00:00/vmcore"),
    "windows": (_windows, "Windows/MEMORY.DMP"),
}


@pytest.fixture(params=sorted(COLLECTORS))
def collector(request: pytest.FixtureRequest) -> tuple[Run, str]:
    return COLLECTORS[request.param]


@pytest.fixture
def collection(s3: Any, bucket: str) -> Collection:
    return Collection(s3, bucket)


def _locate(collection: Collection, instance: InstanceRoot, run: Run) -> tuple[str, LocateResult]:
    issued = write_locate_manifest(collection.s3, bucket=collection.bucket, keys=collection.keys,
                                   interrupted_at=INTERRUPTED_AT, min_part_size=5 * MIB)
    rc, stdout, stderr = run(instance, "locate", issued.manifest_url)
    assert (rc, stderr) == (0, "")
    collection.locate_stdout = stdout
    return stdout, read_locate_result(collection.s3, bucket=collection.bucket, keys=collection.keys)


def test_locate_prints_the_hashes_first_and_never_the_manifest_key(
    collection: Collection, instance: InstanceRoot, collector: tuple[Run, str]
) -> None:
    run, path = collector
    dump = instance.sparse(path, 12 * MIB, FRESH)
    stdout, located = _locate(collection, instance, run)

    data = dump.read_bytes()
    parts = [hashlib.sha256(data[i:i + 5 * MIB]).digest() for i in range(0, len(data), 5 * MIB)]
    composite = base64.b64encode(hashlib.sha256(b"".join(parts)).digest()).decode()
    key = base64.b64decode(located.manifest_key or "")
    assert stdout.splitlines()[:3] == [f"ssm_parts_sha256={composite}",
                                        f"ssm_dump_sha256={hashlib.sha256(data).hexdigest()}",
                                        f"ssm_manifest_key_sha256={hashlib.sha256(key).hexdigest()}"]
    assert located.part_size == 5 * MIB and located.part_hashes == tuple(p.hex() for p in parts)
    assert len(key) == 32 and "manifest_key=" not in stdout


def test_upload_sends_each_signed_checksum_and_verifies_without_read_back(
    collection: Collection, instance: InstanceRoot, collector: tuple[Run, str]
) -> None:
    run, path = collector
    instance.sparse(path, 12 * MIB, FRESH)
    _, located = _locate(collection, instance, run)
    upload = collection.plan(located, min_part_size=5 * MIB)
    rc, stdout, stderr = run(instance, "upload", upload.manifest_url)
    assert (rc, stderr) == (0, "")
    assert stdout.startswith(f"ssm_parts_sha256={upload.plan.parts_sha256}\n")

    collected = collection.complete(upload, located, stdout)

    assert collected.manifest.checksum_sha256 == f"{upload.plan.parts_sha256}-3"


def test_upload_refuses_a_dump_that_changed_since_locate(
    collection: Collection, instance: InstanceRoot, collector: tuple[Run, str]
) -> None:
    run, path = collector
    dump = instance.sparse(path, 12 * MIB, FRESH)
    _, located = _locate(collection, instance, run)
    upload = collection.plan(located, min_part_size=5 * MIB)
    with dump.open("r+b") as handle:  # same size and time, other bytes in part 2
        handle.seek(6 * MIB)
        handle.write(os.urandom(16))
    os.utime(dump, (FRESH, FRESH))
    rc, _, stderr = run(instance, "upload", upload.manifest_url)
    assert rc == 1 and "part 2 of " in stderr and "changed since it was located" in stderr
    with pytest.raises(CollectionFailed, match="changed since it was located"):
        collection.complete(upload, located, "")
    assert collection.s3.list_multipart_uploads(Bucket=collection.bucket).get("Uploads", []) == []
    result = collection.text(collection.keys.collector_key(CollectorAction.UPLOAD, "result"))
    assert "status=failed" in result


def test_the_powershell_collector_states_the_same_contract_as_the_two_that_run() -> None:
    # PowerShell cannot run here: collect_dump.ps1 is held to what the sh script and the emulation, both run
    # above, state in their source: the ssm_ lines and their order, the manifest key's header, file and
    # single use, and the failure reasons the workflow's records quote.
    sources = {"sh": (SCRIPTS / "collect_dump.sh").read_text(), "ps1": (SCRIPTS / "collect_dump.ps1").read_text(),
               "emulation": Path(windows_collector.__file__).read_text()}
    ssm_lines = {
        "sh": re.search(r"for name in ([a-z0-9_ ]+); do", sources["sh"]),
        "ps1": re.search(r"foreach \(\$Name in ('[a-z0-9_', ]+)\)", sources["ps1"]),
        "emulation": re.search(r'for name in \(("[a-z0-9_", ]+)\)', sources["emulation"]),
    }
    assert {name: re.findall(r"[a-z0-9_]+", found.group(1)) for name, found in ssm_lines.items() if found} == {
        name: list(SsmReport.model_fields) for name in sources}
    for text in sources.values():
        assert "manifest_key=" in text and "no manifest key: locate did not run on this instance" in text
        assert "the manifest key is damaged" in text
        assert "changed since it was located" in text
    assert MANIFEST_KEY_HEADER in sources["sh"] and f"'{MANIFEST_KEY_HEADER}'" in sources["ps1"]
    assert r"'ProgramData\PanicButton\manifest.key'" in sources["ps1"]
    assert '"ProgramData/PanicButton/manifest.key"' in sources["emulation"]
    # single use: the upload deletes the key before it fetches the manifest
    assert sources["ps1"].index("Remove-Item -Force -LiteralPath $KeyFile\n") < sources["ps1"].index(
        "-Headers $ManifestHeaders")
