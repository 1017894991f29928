"""A Python emulation of infra/ssm/collect_dump.ps1's observable contract, for the sandbox's SSM agent:
PowerShell cannot run here. Same manifest, result, log and multipart protocol over the same presigned
URLs (docs/collection-protocol.md); the instance's C:\\Windows is `instance_root/Windows`. The registry
is not emulated: the CrashControl defaults (%SystemRoot%\\MEMORY.DMP and %SystemRoot%\\Minidump) apply.
Section numbers match the script's."""

import base64
import hashlib
import os
import platform
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from panic_button.errors import CollectionFailed
from panic_button.logic.collection_plan import choose_part_size
from panic_button.logic.collection_s3 import MANIFEST_KEY_HEADER, composite_sha256, hex_to_base64
from panic_button.models.collection import (
    ACTION_PATTERN,
    MANIFEST_URL_PATTERN,
    MIB,
    Manifest,
)

PART_ATTEMPTS = 5
MEMORY_DUMP = "C:\\Windows\\MEMORY.DMP"
MINIDUMP_DIR = "C:\\Windows\\Minidump"
_PRESIGNED = re.compile(r"^(https://|http://127\.0\.0\.1:)[A-Za-z0-9._~%/?&=:-]+$")


class _Failed(Exception):
    """Fail in the script: a one-line reason, status=failed in the result, exit 1."""


@dataclass(frozen=True)
class _Found:
    mtime: int
    size: int
    layout: str
    path: str

    def line(self) -> str:
        return f"{self.size} {self.mtime} {self.path}"


@dataclass
class _Run:
    root: Path
    action: str = ""
    result: list[str] = field(default_factory=list)
    log_lines: list[str] = field(default_factory=list)
    result_url: str | None = None
    log_url: str | None = None
    last_status: int = 0
    last_attempt: int = 0
    last_etag: str = ""
    time_scale: float = 1.0  # the sandbox's: the retry backoff passes as fast as every simulated wait

    # --- 2. Workspace, log, exit handling
    def log(self, message: str) -> None:
        self.log_lines.append(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {message}")

    def emit(self, key: str, value: object) -> None:
        self.result.append(f"{key}={value}")

    def finish(self, rc: int, error: str, work: Path) -> tuple[int, str, str]:
        if rc:
            self.emit("status", "failed")
            self.emit("error", error)
            self.log(f"error: {error}")
        text = "".join(f"{line}\n" for line in self.result)
        if self.result_url:
            (work / "result").write_text(text, encoding="utf-8")
            if self.put_with_retry("result", self.result_url, work / "result", write_once=True):
                self.log("result uploaded")
            elif rc == 0:
                rc, error = 1, f"could not upload the result (HTTP {self.last_status})"
        if self.log_url:
            self.log(f"exit {rc}")
            (work / "log").write_text("".join(f"{line}\n" for line in self.log_lines), encoding="utf-8")
            self.put_with_retry("log", self.log_url, work / "log", write_once=True)
        # As the scripts do: the hashes first on stdout, the channel no URL holder can write.
        ssm = ""
        for name in ("parts_sha256", "dump_sha256", "manifest_key_sha256"):
            values = [line.partition("=")[2] for line in self.result if line.startswith(f"{name}=")]
            ssm += f"ssm_{name}={values[-1]}\n" if values and values[-1] else ""
        printed = "".join(line + "\n" for line in self.result if not line.startswith("manifest_key="))
        return rc, ssm + printed, f"collect_dump: {error}\n" if rc else ""

    # --- 3. HTTP through presigned URLs
    def put_with_retry(self, what: str, url: str, path: Path, checksum: str = "", *,
                       write_once: bool = False) -> bool:
        """write_once: the URL signs If-None-Match: * (result and log); a 412 after a failed attempt means that
        attempt's write arrived and only its answer was lost."""
        delay = 1
        for attempt in range(1, PART_ATTEMPTS + 1):
            self.last_attempt = attempt
            try:
                with path.open("rb") as body:
                    request = urllib.request.Request(
                        url,
                        data=body,
                        method="PUT",
                        headers={
                            "Content-Length": str(path.stat().st_size),
                            "Content-Type": "application/octet-stream",
                            # the part's checksum, signed into its URL
                            **({"x-amz-checksum-sha256": checksum} if checksum else {}),
                            **({"If-None-Match": "*"} if write_once else {}),
                        },
                    )
                    with urllib.request.urlopen(request, timeout=900) as response:
                        self.last_status, self.last_etag = response.status, response.headers.get("ETag", "")
                        return True
            except (urllib.error.URLError, OSError) as error:
                self.last_status = error.code if isinstance(error, urllib.error.HTTPError) else 0
                self.log(f"{what}: attempt {attempt} failed: HTTP {self.last_status} {error}")
                if self.last_status in (400, 403, 404):
                    return False
                if self.last_status == 412:
                    return attempt > 1
                if attempt < PART_ATTEMPTS:
                    time.sleep(delay / self.time_scale)
                    delay *= 2
        return False

    # --- 4. Manifest
    def spend_manifest_key(self) -> str:
        """The key locate made, single use (see the sh script's KEY_FILE)."""
        key_file = self.root / "ProgramData/PanicButton/manifest.key"
        if not key_file.is_file():
            raise _Failed("no manifest key: locate did not run on this instance")
        key = key_file.read_text().strip()
        key_file.unlink()
        if not re.fullmatch(r"[A-Za-z0-9+/=]+", key):
            raise _Failed("the manifest key is damaged")
        return key

    def read_manifest(self, url: str) -> Manifest:
        if not re.match(ACTION_PATTERN, self.action):
            raise _Failed(f"unknown action '{self.action}'")
        if not re.match(MANIFEST_URL_PATTERN, url) or not _PRESIGNED.match(url):
            raise _Failed("the manifest URL is not a presigned S3 URL")
        headers = {MANIFEST_KEY_HEADER: self.spend_manifest_key()} if self.action == "upload" else {}
        delay, attempt = 1, 1
        while True:  # retried as put_with_retry retries: S3 throttles and fails now and then
            try:
                with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=120) as response:
                    text = response.read().decode("utf-8")
                break
            except (urllib.error.URLError, OSError) as error:
                status = error.code if isinstance(error, urllib.error.HTTPError) else 0
                self.log(f"manifest: attempt {attempt} failed: HTTP {status} {error}")
                if status in (400, 403, 404) or attempt >= PART_ATTEMPTS:
                    raise _Failed(f"cannot fetch the manifest: {error}") from None
                time.sleep(delay / self.time_scale)
                delay, attempt = delay * 2, attempt + 1
        try:
            manifest = Manifest.from_text(text)
        except ValueError as error:
            raise _Failed(f"unusable manifest: {error}") from None
        if _PRESIGNED.match(manifest.result_url):
            self.result_url = manifest.result_url
        if _PRESIGNED.match(manifest.log_url):
            self.log_url = manifest.log_url
        if manifest.action.value != self.action:
            raise _Failed(f"the manifest is for '{manifest.action.value}', not '{self.action}'")
        return manifest

    # --- 5. Locate
    def host_path(self, instance_path: str) -> Path:
        return self.root.joinpath(*instance_path[3:].split("\\"))

    def candidate(self, layout: str, instance_path: str) -> _Found | None:
        path = self.host_path(instance_path)
        if path.is_symlink() or not path.is_file():
            return None
        stat = path.stat()
        return _Found(int(stat.st_mtime), stat.st_size, layout, instance_path)

    def locate(self, not_before: int, work: Path) -> _Found | None:
        self.emit("not_before", not_before)
        self.emit("scratch_free", shutil.disk_usage(work).free)
        self.emit("searched", MEMORY_DUMP)
        self.emit("searched", MINIDUMP_DIR)
        minidumps = sorted(self.host_path(MINIDUMP_DIR).glob("*.dmp"))
        found: list[_Found | None] = [self.candidate("windows-memory", MEMORY_DUMP)]
        found += [self.candidate("windows-minidump", f"{MINIDUMP_DIR}\\{p.name}") for p in minidumps]
        complete = sorted((f for f in found if f and f.size > 0), key=lambda f: (f.mtime, f.path), reverse=True)
        fresh = [f for f in complete if f.mtime >= not_before]
        chosen = next((f for f in fresh if f.layout == "windows-memory"), fresh[0] if fresh else None)
        for f in complete:
            if f.mtime < not_before:
                self.emit("older", f.line())
            elif f != chosen:
                self.emit("other", f.line())
        for empty in found:
            if empty and empty.size == 0:
                self.emit("incomplete", empty.line())
        return chosen

    # --- 5b. Part hashes
    def hash_parts(self, manifest: Manifest, chosen: _Found, work: Path) -> None:
        try:
            part_size = choose_part_size(chosen.size, manifest.part_size_min or 0, shutil.disk_usage(work).free)
        except (CollectionFailed, ValueError) as error:
            raise _Failed(str(error)) from None
        whole, hashes = hashlib.sha256(), []
        with self.host_path(chosen.path).open("rb") as dump:
            for _ in range(-(-chosen.size // part_size)):
                part, remaining = hashlib.sha256(), part_size
                while remaining and (block := dump.read(min(MIB, remaining))):
                    part.update(block)
                    whole.update(block)
                    remaining -= len(block)
                hashes.append(part.hexdigest())
        self.emit("part_size", part_size)
        self.emit("part_count", len(hashes))
        self.result.extend(f"part_hash={n} {h}" for n, h in enumerate(hashes, start=1))
        self.emit("dump_sha256", whole.hexdigest())
        self.emit("parts_sha256", composite_sha256(hashes))
        key = os.urandom(32)
        key_file = self.root / "ProgramData/PanicButton/manifest.key"
        key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key_file.write_text(base64.b64encode(key).decode())
        key_file.chmod(0o600)
        self.emit("manifest_key", base64.b64encode(key).decode())
        self.emit("manifest_key_sha256", hashlib.sha256(key).hexdigest())

    def report_dump(self, chosen: _Found) -> None:
        self.emit("hostname", platform.node())
        self.emit("kernel", "")
        self.emit("kernel_source", "emulated")
        for key, value in (
            ("layout", chosen.layout),
            ("dump_path", chosen.path),
            ("dump_size", chosen.size),
            ("dump_mtime", chosen.mtime),
        ):
            self.emit(key, value)

    # --- 6.-9. Upload
    def upload(self, manifest: Manifest, chosen: _Found | None, work: Path) -> None:
        if chosen is None:
            raise _Failed(f"no complete dump written after {manifest.not_before}")
        if chosen.path != manifest.expect_path:
            raise _Failed(f"the newest dump is '{chosen.path}', not '{manifest.expect_path}'")
        if chosen.size != manifest.expect_size:
            raise _Failed(f"{chosen.path} is {chosen.size} bytes, expected {manifest.expect_size}")
        part_size = manifest.part_size or 0
        if part_size <= 0 or part_size % MIB:
            raise _Failed(f"part_size {part_size} is not a whole number of MiB")
        part_count = -(-chosen.size // part_size)
        if len(manifest.part_urls) != part_count:
            raise _Failed(f"the manifest has {len(manifest.part_urls)} part URLs, the dump needs {part_count}")
        self.log(f"uploading {chosen.path}: {chosen.size} bytes in {part_count} parts")
        whole, part_lines, hashes = hashlib.sha256(), [], []
        with self.host_path(chosen.path).open("rb") as dump:
            for number, (checksum, url) in enumerate(zip(manifest.part_checksums, manifest.part_urls, strict=True),
                                                        start=1):
                if not _PRESIGNED.match(url):
                    raise _Failed(f"part {number} URL is not a presigned S3 URL")
                part_sha = _copy_part(dump, work / "part", part_size, whole.update)
                hashes.append(part_sha)
                if hex_to_base64(part_sha) != checksum:
                    raise _Failed(f"part {number} of {chosen.path} changed since it was located")
                if not self.put_with_retry(f"part {number}", url, work / "part", checksum):
                    raise _Failed(f"part {number} failed after {self.last_attempt} attempts: HTTP {self.last_status}")
                if not self.last_etag:
                    raise _Failed(f"S3 returned no ETag for part {number}")
                part_lines.append(f"part={number} {self.last_etag.strip(chr(34))} {part_sha}")
                self.log(f"part {number} uploaded (attempt {self.last_attempt})")
        self.emit("status", "uploaded")
        self.report_dump(chosen)
        self.emit("dump_sha256", whole.hexdigest())
        self.emit("parts_sha256", composite_sha256(hashes))
        self.emit("part_size", part_size)
        self.emit("part_count", part_count)
        self.result.extend(part_lines)
        self.emit("dmesg_source", "none")


def _copy_part(dump: BinaryIO, target: Path, part_size: int, feed_whole: Callable[[bytes], None]) -> str:
    """Copy the next part to `target` in 1 MiB blocks, feeding the whole-file hash; returns the part's."""
    part = hashlib.sha256()
    with target.open("wb") as out:
        remaining = part_size
        while remaining and (block := dump.read(min(MIB, remaining))):
            out.write(block)
            part.update(block)
            feed_whole(block)
            remaining -= len(block)
    return part.hexdigest()


def run_windows_collector(parameters: dict[str, str], instance_root: Path,
                          time_scale: float = 1.0) -> tuple[int, str, str]:
    """Run the collector's contract over `instance_root`; returns (exit code, stdout, stderr)."""
    started_at = int(time.time())
    run = _Run(root=instance_root, action=parameters.get("Action", ""), time_scale=time_scale)
    work = Path(tempfile.mkdtemp(prefix="panic-button."))  # mkdtemp: private (0700), like the script's
    run.emit("protocol", 1)
    run.emit("action", run.action)
    run.log(f"collector started (emulated): action={run.action} root={instance_root}")
    try:
        manifest = run.read_manifest(parameters.get("ManifestUrl", ""))
        chosen = run.locate(manifest.not_before, work)
        if run.action == "locate":
            if chosen:
                run.hash_parts(manifest, chosen, work)
                run.emit("status", "found")
                run.report_dump(chosen)
            else:
                run.emit("status", "none")
                run.emit("hostname", platform.node())
        else:
            run.upload(manifest, chosen, work)
            run.emit("started_at", started_at)
            run.emit("finished_at", int(time.time()))
        return run.finish(0, "", work)
    except _Failed as failure:
        return run.finish(1, str(failure), work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
