"""The crash-dump collection protocol's vocabulary: what the workflow and the on-instance collector
exchange. The text formats are specified in docs/collection-protocol.md; the collectors are
infra/ssm/collect_dump.sh and collect_dump.ps1 (emulated by panic_button_sandbox/windows_collector.py)."""

import posixpath
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MIB = 1 << 20
MANIFEST_HEADER = "panic-button-manifest 1"
MANIFEST_END = "end"

# SSM allowedPatterns. The manifest URL is pasted between single quotes in the collector, so the
# pattern admits only what a SigV4 presigned URL contains (no quote, space, $, `, ;, {, newline).
# Bounded: a session-token URL is ~1,500 characters; S3 keys are at most 1,024 bytes.
URL_PATH_AND_QUERY = r"/[A-Za-z0-9._~%/-]{1,1024}\?[A-Za-z0-9._~%&=-]{1,4000}$"
# The shape the workflow checks before SendCommand, whatever the stack: https to any host, or plain http to
# 127.0.0.1. The document itself carries the narrower manifest_url_pattern of its stack.
MANIFEST_URL_PATTERN = (r"^(https://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?|http://127\.0\.0\.1:[0-9]{1,5})"
                        + URL_PATH_AND_QUERY)
# Any S3 bucket name, for a member account's documents, which cannot know the hub's bucket.
ANY_BUCKET = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"


def manifest_url_pattern(bucket: str, region: str, url_suffix: str, *, loopback: bool = False) -> str:
    """The collector documents' ManifestUrl allowedPattern: `bucket` virtual-hosted on the S3 endpoint of
    `region` in its partition (`url_suffix`: amazonaws.com, amazonaws.com.cn). Every argument is a regular
    expression already (dots escaped). `loopback` also admits the local sandbox's path-style
    http://127.0.0.1:<port>/<bucket>/...: only a synth with panic-button:sandbox-collector-urls has it."""
    hosted = rf"https://{bucket}\.s3\.{region}\.{url_suffix}"
    origin = rf"({hosted}|http://127\.0\.0\.1:[0-9]{{1,5}}/{bucket})" if loopback else hosted
    return f"^{origin}{URL_PATH_AND_QUERY}"


ACTION_PATTERN = r"^(locate|upload)$"
# 1..172800 seconds, the range SSM accepts for an execution timeout.
EXECUTION_TIMEOUT_PATTERN = r"^([1-9][0-9]{0,4}|1[0-6][0-9]{4}|17[01][0-9]{3}|172[0-7][0-9]{2}|172800)$"


class CollectorAction(StrEnum):
    LOCATE = "locate"
    UPLOAD = "upload"


class DumpLayout(StrEnum):
    RHEL = "rhel"  # <ip>-YYYY-MM-DD-HH:MM:SS/vmcore (RHEL, Fedora, CentOS, Amazon Linux)
    DEBIAN = "debian"  # YYYYMMDDHHMM/dump.YYYYMMDDHHMM[.gz|.bz2|.lz4|.xz] (Debian, Ubuntu)
    DEBIAN_COPY = "debian-copy"  # YYYYMMDDHHMM/vmcore.YYYYMMDDHHMM: kdump-tools' cp fallback
    ABRT = "abrt"  # /var/spool/abrt/vmcore-<dir>/vmcore
    WINDOWS_MEMORY = "windows-memory"  # %SystemRoot%\MEMORY.DMP (CrashControl\DumpFile)
    WINDOWS_MINIDUMP = "windows-minidump"  # %SystemRoot%\Minidump\*.dmp


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class FoundFile(Frozen):
    """A dump the collector saw but did not ship: `<size> <mtime> <path>` in the result."""

    size: int
    mtime: int
    path: str

    @classmethod
    def parse(cls, value: str) -> "FoundFile":
        size, mtime, path = value.split(" ", 2)
        return cls(size=int(size), mtime=int(mtime), path=path)


class CollectionKeys(Frozen):
    """Where one remediation's collection lives in the evidence bucket."""

    instance_id: str
    execution_name: str
    prefix: str  # remediations/<instance-id>/<execution-name>/

    def dump_key(self, source_path: str) -> str:
        """The dump keeps its file name, which tells its format (vmcore, dump.<stamp>.gz, MEMORY.DMP)."""
        return f"{self.prefix}dump/{posixpath.basename(source_path.replace(chr(92), '/'))}"

    @property
    def dmesg_key(self) -> str:
        return f"{self.prefix}dump/vmcore-dmesg.txt"

    @property
    def dump_manifest_key(self) -> str:
        return f"{self.prefix}dump/manifest.json"

    def collector_key(self, action: CollectorAction, kind: Literal["manifest", "result", "log", "plan"]) -> str:
        return f"{self.prefix}collector/{action.value}.{kind}"

    def write_once_keys(self, action: CollectorAction, *, dmesg: bool) -> tuple[str, ...]:
        """The keys `action`'s manifest holds write-once PUT URLs for (collection_s3.presign_write_once): its
        result and log, and for an upload that ships a kernel log (Linux) the dmesg."""
        own = (self.collector_key(action, "result"), self.collector_key(action, "log"))
        return (*own, self.dmesg_key) if action is CollectorAction.UPLOAD and dmesg else own


class ManifestHandle(Frozen):
    """Where a written manifest and its results live. Stored in the workflow state: it has no URL."""

    action: CollectorAction
    manifest_key: str
    result_key: str
    log_key: str
    url_expires_at: datetime


class IssuedManifest(Frozen):
    """A manifest just written, with the presigned GET the collector reads it through. Never stored:
    the URL goes to SSM only (ManifestUrl) and dies after MANIFEST_URL_EXPIRY."""

    handle: ManifestHandle
    manifest_url: str


class Manifest(Frozen):
    """The manifest object: line-based because the collector is POSIX sh without a JSON parser."""

    action: CollectorAction
    not_before: int
    result_url: str
    log_url: str
    expect_path: str | None = None
    expect_size: int | None = None
    part_size_min: int | None = None  # locate: the collector picks the part size by choose_part_size's rule
    part_size: int | None = None
    part_checksums: tuple[str, ...] = ()  # base64 SHA-256 per part, signed into its URL
    part_urls: tuple[str, ...] = ()
    dmesg_url: str | None = None
    dmesg_kms_key: str | None = None  # the dump key: the dmesg PUT URL signs its SSE-KMS headers
    parallel_parts: int = Field(1, ge=1, le=8)  # upload: parts in flight at once, at most

    def to_text(self) -> str:
        lines = [MANIFEST_HEADER, f"action {self.action.value}", f"not_before {self.not_before}"]
        lines += [f"result_url {self.result_url}", f"log_url {self.log_url}"]
        if self.action is CollectorAction.LOCATE:
            lines += [f"part_size_min {self.part_size_min}"]
        if self.action is CollectorAction.UPLOAD:
            lines += [f"expect_path {self.expect_path}", f"expect_size {self.expect_size}"]
            lines += [f"part_size {self.part_size}", f"parallel_parts {self.parallel_parts}"]
            lines += [f"dmesg_url {self.dmesg_url}"] if self.dmesg_url else []
            lines += [f"dmesg_kms_key {self.dmesg_kms_key}"] if self.dmesg_kms_key else []
            lines += [f"part {n} {checksum} {url}"
                      for n, (checksum, url) in enumerate(zip(self.part_checksums, self.part_urls, strict=True), 1)]
        return "\n".join([*lines, MANIFEST_END, ""])

    @classmethod
    def from_text(cls, text: str) -> "Manifest":
        lines = text.splitlines()
        if not lines or lines[0] != MANIFEST_HEADER or lines[-1] != MANIFEST_END:
            raise ValueError("not a complete version 1 manifest")
        fields: dict[str, str] = {}
        parts: list[str] = []
        checksums: list[str] = []
        for line in lines[1:-1]:
            key, _, value = line.partition(" ")
            if key == "part":
                number, checksum, url = value.split(" ", 2)
                if int(number) != len(parts) + 1:
                    raise ValueError(f"part {number} is out of order")
                parts.append(url)
                checksums.append(checksum)
            else:
                fields[key] = value
        return cls.model_validate({**fields, "part_urls": tuple(parts), "part_checksums": tuple(checksums)})


def result_fields(text: str) -> dict[str, list[str]]:
    """`key=value` lines into lists of values; lines without `=` are ignored."""
    fields: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields.setdefault(key.strip(), []).append(value)
    return fields


def _single(fields: dict[str, list[str]], key: str) -> str | None:
    values = fields.get(key)
    return values[-1] if values and values[-1] != "" else None


class CollectorReport(Frozen):
    """What both results share: the host, and the dump the collector chose."""

    status: str
    error: str | None = None
    hostname: str | None = None
    kernel: str | None = None
    kernel_source: str | None = None
    not_before: int | None = None
    layout: DumpLayout | None = None
    dump_path: str | None = None
    dump_size: int | None = None
    dump_mtime: int | None = None
    dmesg_path: str | None = None
    dmesg_size: int | None = None
    notes: tuple[str, ...] = ()

    @classmethod
    def _scalar_fields(cls, fields: dict[str, list[str]]) -> dict[str, str | None]:
        names = set(cls.model_fields) - {"notes", "searched", "older", "other", "incomplete", "parts", "part_hashes"}
        return {name: _single(fields, name) for name in names if _single(fields, name) is not None}


class LocateResult(CollectorReport):
    status: Literal["found", "none", "failed"]
    scratch_free: int | None = None  # bytes free where the collector stages parts (two at a time)
    searched: tuple[str, ...] = ()
    older: tuple[FoundFile, ...] = ()
    other: tuple[FoundFile, ...] = ()
    incomplete: tuple[FoundFile, ...] = ()
    part_size: int | None = None  # chosen by the collector with choose_part_size's rule, checked by the workflow
    part_count: int | None = None
    part_hashes: tuple[str, ...] = ()  # hex SHA-256 of each part, in order; must hash to parts_sha256
    dump_sha256: str | None = None
    parts_sha256: str | None = None
    manifest_key: str | None = None  # base64, 32 bytes: signed into the upload manifest URL as a header value

    @classmethod
    def from_text(cls, text: str) -> "LocateResult":
        fields = result_fields(text)
        listed = {
            name: tuple(FoundFile.parse(v) for v in fields.get(name, [])) for name in ("older", "other", "incomplete")
        }
        hashes: list[str] = []
        for value in fields.get("part_hash", []):
            number, sha256 = value.split(" ")
            if int(number) != len(hashes) + 1:
                raise ValueError(f"part_hash {number} is out of order")
            hashes.append(sha256)
        return cls.model_validate(
            {
                **cls._scalar_fields(fields),
                **listed,
                "part_hashes": tuple(hashes),
                "searched": tuple(fields.get("searched", [])),
                "notes": tuple(fields.get("note", [])),
            }
        )

    def recent_incomplete(self) -> tuple[FoundFile, ...]:
        """Incomplete dumps written after the interrupt: kdump ran but did not finish."""
        return tuple(f for f in self.incomplete if f.mtime >= (self.not_before or 0))


class UploadedPart(Frozen):
    number: int
    etag: str
    sha256: str


class UploadResult(CollectorReport):
    status: Literal["uploaded", "failed"]
    dump_sha256: str | None = None
    parts_sha256: str | None = None
    part_size: int | None = None
    part_count: int | None = None
    parallel_parts: int | None = None  # parts in flight at once: the manifest's, or fewer (scratch space)
    parts: tuple[UploadedPart, ...] = ()
    dmesg_source: Literal["file", "makedumpfile", "none"] = "none"
    dmesg_sha256: str | None = None
    started_at: int | None = None
    finished_at: int | None = None

    @classmethod
    def from_text(cls, text: str) -> "UploadResult":
        fields = result_fields(text)
        parts = []
        for value in fields.get("part", []):
            number, etag, sha256 = value.split(" ")
            parts.append(UploadedPart(number=int(number), etag=etag, sha256=sha256))
        return cls.model_validate(
            {**cls._scalar_fields(fields), "parts": tuple(parts), "notes": tuple(fields.get("note", []))}
        )


class SsmReport(Frozen):
    """What the collector printed first on its SSM stdout: the only values no URL holder can write."""

    parts_sha256: str | None = None  # base64 SHA-256 of the concatenated binary part digests (44 characters)
    dump_sha256: str | None = None
    manifest_key_sha256: str | None = None  # hex SHA-256 of the manifest key the locate result carries


class UploadPlan(Frozen):
    """Carried through the workflow state from 'plan the upload' to 'complete the upload'. It holds no
    URL, and no field could: every URL is in the manifest object only."""

    bucket: str
    keys: CollectionKeys
    upload_id: str
    dump_key: str
    expect_path: str
    expect_size: int
    part_size: int
    part_count: int
    not_before: int
    parts_sha256: str  # the composite the part URLs were signed for, from the locate command's stdout
    kms_key_id: str | None = None
    manifest: ManifestHandle
    ships_dmesg: bool = True  # a dmesg URL went out (Linux); Windows ships no kernel log


class PlannedUpload(Frozen):
    """plan_upload's answer: the plan to store, and the manifest URL for SendCommand only."""

    plan: UploadPlan
    manifest_url: str


class Artifact(Frozen):
    kind: Literal["dump", "dmesg", "manifest"]
    s3_uri: str
    bytes: int
    sha256: str


class ShippedFile(Frozen):
    s3_uri: str
    bytes: int
    sha256: str
    source_path: str | None


class DumpManifest(Frozen):
    """`dump/manifest.json`: what triage reads first, written only after the dump was verified."""

    schema_version: Literal[1] = 1
    instance_id: str
    execution_name: str
    hostname: str | None
    kernel_release: str | None
    kernel_source: str | None
    layout: DumpLayout
    dump: ShippedFile
    checksum_sha256: str  # S3's composite, "<base64>-<parts>", equal to what the collector reported over SSM
    dump_mtime: int | None
    part_size: int
    part_count: int
    parts: tuple[UploadedPart, ...]
    dmesg: ShippedFile | None
    dmesg_source: str
    not_shipped_older: tuple[FoundFile, ...]
    not_shipped_other: tuple[FoundFile, ...]
    not_shipped_incomplete: tuple[FoundFile, ...]
    notes: tuple[str, ...]
    not_before: datetime
    upload_started_at: datetime | None
    upload_finished_at: datetime | None
    verified_at: datetime
    verify_seconds: float


class CollectedDump(Frozen):
    artifacts: tuple[Artifact, ...]
    manifest: DumpManifest
