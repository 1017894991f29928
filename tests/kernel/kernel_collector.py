"""Running the project's collector (infra/ssm/collect_dump.sh) against a real guest's /var/crash.

The script runs as the SSM agent runs it: the collector document's runCommand rendered with the
parameters SendCommand checked, in bash, with PANIC_BUTTON_ROOT pointing at an instance root whose
var/crash is what the guest's kdump wrote. The manifests and presigned URLs come from the workflow's
own functions (panic_button.logic.collection_plan and collection_verify), against a moto S3 on 127.0.0.1.
"""

import json
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from panic_button.logic.collection_plan import (
    DEFAULT_MIN_PART_SIZE,
    collection_keys,
    plan_upload,
    read_locate_result,
    write_locate_manifest,
)
from panic_button.logic.collection_verify import complete_upload
from panic_button.models.collection import (
    ANY_BUCKET,
    CollectedDump,
    CollectionKeys,
    LocateResult,
    manifest_url_pattern,
)

from infra.ssm.documents import build_collector_document
from panic_button_sandbox.ssm_documents import CommandDocument

# The sandbox synth's pattern (panic-button:sandbox-collector-urls): the local moto's buckets are the tests' own.
LOOPBACK = manifest_url_pattern(ANY_BUCKET, "us-east-1", r"amazonaws\.com", loopback=True)
_AGENT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_COLLECTOR_TIMEOUT_SECONDS = 300


def instance_root_with(crash_dir: Path, root: Path) -> Path:
    """An instance filesystem root whose /var/crash is a copy of the guest's."""
    shutil.rmtree(root, ignore_errors=True)
    (root / "var/tmp").mkdir(parents=True)  # the collector's scratch space
    shutil.copytree(crash_dir, root / "var/crash")
    return root


def run_collector(root: Path, action: str, manifest_url: str) -> subprocess.CompletedProcess[str]:
    document = CommandDocument.parse("PanicButton-CollectDump",
                                     json.dumps(build_collector_document("linux", LOOPBACK)))
    parameters = document.resolve_parameters({"Action": [action], "ManifestUrl": [manifest_url]})
    script = root.parent / f"_collector_{action}.sh"
    script.write_text("\n".join(document.steps[0].commands(parameters)) + "\n")
    environment = {"PATH": _AGENT_PATH, "HOME": str(root), "LANG": "C.UTF-8", "PANIC_BUTTON_ROOT": str(root)}
    return subprocess.run(
        ["bash", str(script)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=_COLLECTOR_TIMEOUT_SECONDS,
        check=False,
    )


@dataclass
class KernelCollection:
    """One remediation's locate and upload of the guest's dump, through the real protocol."""

    s3: Any
    bucket: str
    root: Path
    interrupted_at: datetime
    instance_id: str = "i-0fee1dead0c0ffee0"
    execution_name: str = "real-kernel"
    locate_stdout: str = ""  # what SSM would return for the locate command
    min_part_size: int = DEFAULT_MIN_PART_SIZE  # what locate was asked to hash by; the plan checks the same

    @property
    def keys(self) -> CollectionKeys:
        return collection_keys(self.instance_id, self.execution_name)

    def locate(self, min_part_size: int = DEFAULT_MIN_PART_SIZE) -> LocateResult:
        """The part size is chosen here: locate hashes the dump's parts, and the upload's plan holds it to
        the same minimum."""
        self.min_part_size = min_part_size
        handle = write_locate_manifest(self.s3, bucket=self.bucket, keys=self.keys, interrupted_at=self.interrupted_at,
                                       min_part_size=min_part_size)
        ran = run_collector(self.root, "locate", handle.manifest_url)
        if ran.returncode != 0:
            raise AssertionError(f"locate exited {ran.returncode}: {ran.stderr}\n{ran.stdout}")
        self.locate_stdout = ran.stdout[:24_000]
        return read_locate_result(self.s3, bucket=self.bucket, keys=self.keys, fallback_text=ran.stdout)

    def upload(self, located: LocateResult) -> CollectedDump:
        planned = plan_upload(self.s3, bucket=self.bucket, keys=self.keys, located=located,
                              locate_stdout=self.locate_stdout, min_part_size=self.min_part_size)
        ran = run_collector(self.root, "upload", planned.manifest_url)
        if ran.returncode != 0:
            raise AssertionError(f"upload exited {ran.returncode}: {ran.stderr}\n{ran.stdout}")
        return complete_upload(self.s3, plan=planned.plan, located=located, locate_stdout=self.locate_stdout,
                               upload_stdout=ran.stdout[:24_000])

    def object_bytes(self, key: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body
