"""Helpers for the collector tests: fake instance roots, running collect_dump.sh the way the SSM agent
does (document preamble + script, parameters substituted after the allowedPattern check), a fault
injecting HTTP proxy in front of moto, and a sampler of a process tree's memory."""

import contextlib
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
    PlannedUpload,
    manifest_url_pattern,
)

from infra.ssm.documents import build_collector_document
from panic_button_sandbox.process_memory import tree_rss_bytes

# What the sandbox's synth gives the documents (panic-button:sandbox-collector-urls): any bucket here, as the
# local moto's buckets are the tests' own.
LOOPBACK_PATTERN = manifest_url_pattern(ANY_BUCKET, "us-east-1", r"amazonaws\.com", loopback=True)
SHELLS = [name for name in ("dash", "bash") if shutil.which(name)]
RHEL_DMESG = (
    "[    0.000000] Linux version 5.14.0-427.13.1.el9_4.x86_64 (mockbuild@x86-64-01.build.eng.rdu2) "
    "(gcc (GCC) 11.4.1) #1 SMP PREEMPT_DYNAMIC\n"
    "[  912.104128] Kernel panic - not syncing: NMI: Not continuing\n"
)
DEBIAN_DMESG = "[    0.000000] Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) #1 SMP\n"


@dataclass
class InstanceRoot:
    """A simulated instance's filesystem: every path the collector reads is under `path`."""

    path: Path

    def __post_init__(self) -> None:
        (self.path / "var/tmp").mkdir(parents=True, exist_ok=True)  # the collector's scratch space

    def write(self, relative: str, content: bytes | str, mtime: float | None = None) -> Path:
        target = self.path / relative.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content)
        else:
            target.write_bytes(content)
        if mtime is not None:
            os.utime(target, (mtime, mtime))
        return target

    def sparse(self, relative: str, size: int, mtime: float, marks: int = 8) -> Path:
        """A sparse file of `size` bytes with a few random 4 KiB islands, so its hash means something."""
        target = self.path / relative.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            handle.truncate(size)
            for i in range(marks):
                handle.seek(i * (size // marks))
                handle.write(os.urandom(4096))
        os.utime(target, (mtime, mtime))
        return target

    def leftovers(self) -> list[Path]:
        return list((self.path / "var/tmp").iterdir())


def rendered_commands(platform: str, parameters: dict[str, str], url_pattern: str = LOOPBACK_PATTERN) -> list[str]:
    """runCommand as the agent runs it: values checked against allowedPattern, then substituted."""
    document = build_collector_document(platform, url_pattern)  # type: ignore[arg-type]
    for name, spec in document["parameters"].items():
        value = parameters.get(name, spec.get("default"))
        if value is None or not re.search(spec["allowedPattern"], value):
            raise ValueError(f"InvalidParameters: {name}")
        parameters = {**parameters, name: value}
    commands: list[str] = document["mainSteps"][0]["inputs"]["runCommand"]
    return [re.sub(r"\{\{ (\w+) \}\}", lambda m: parameters[m.group(1)], line) for line in commands]


def start_linux_collector(
    shell: str,
    root: InstanceRoot,
    action: str,
    manifest_url: str,
    *,
    extra_path: Path | None = None,
    tmpdir: Path | None = None,
) -> subprocess.Popen[str]:
    """Write the rendered runCommand to _script.sh and run it like the agent, with PANIC_BUTTON_ROOT."""
    script = root.path.parent / f"_script_{action}.sh"
    script.write_text("\n".join(rendered_commands("linux", {"Action": action, "ManifestUrl": manifest_url})))
    path = os.environ["PATH"] if extra_path is None else f"{extra_path}:{os.environ['PATH']}"
    environment = {"PATH": path, "PANIC_BUTTON_ROOT": str(root.path), "HOME": str(root.path), "LANG": "C"}
    if tmpdir is not None:
        environment["TMPDIR"] = str(tmpdir)
    return subprocess.Popen(
        [shell, str(script)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )  # as the agent does


def run_linux_collector(
    shell: str,
    root: InstanceRoot,
    action: str,
    manifest_url: str,
    *,
    extra_path: Path | None = None,
    tmpdir: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    process = start_linux_collector(shell, root, action, manifest_url, extra_path=extra_path, tmpdir=tmpdir)
    stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@dataclass
class FaultyProxy:
    """An HTTP proxy on 127.0.0.1 in front of moto. Requests whose URL contains a marker can fail
    once with a 500, have their body corrupted in transit, stall until the proxy stops, or be held until
    `released` is set and then go through. It counts the
    part uploads in flight; with `gather` set, the first part requests wait until that many are in flight
    at once (or 60 s pass), so a collector that sends one part at a time shows it."""

    upstream_port: int
    fail_once: set[str] = field(default_factory=set)
    corrupt: set[str] = field(default_factory=set)
    stall: set[str] = field(default_factory=set)
    hold: set[str] = field(default_factory=set)
    released: threading.Event = field(default_factory=threading.Event)
    seen: list[str] = field(default_factory=list)
    stalled: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    gather: int = 0
    parts_in_flight: int = 0
    most_parts_in_flight: int = 0
    _parts: threading.Condition = field(default_factory=threading.Condition)

    @contextlib.contextmanager
    def counted(self, part: bool) -> Iterator[None]:
        """A request, counted among the parts in flight while it lasts if it uploads a part."""
        if part:
            self._part_started()
        try:
            yield
        finally:
            if part:
                self._part_ended()

    def _part_started(self) -> None:
        with self._parts:
            self.parts_in_flight += 1
            self.most_parts_in_flight = max(self.most_parts_in_flight, self.parts_in_flight)
            self._parts.notify_all()
            if self.gather:
                self._parts.wait_for(lambda: self.parts_in_flight >= self.gather, timeout=60)
                self.gather = 0  # gathered once: the rest of the upload runs free

    def _part_ended(self) -> None:
        with self._parts:
            self.parts_in_flight -= 1

    def start(self) -> str:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # answers `Expect: 100-continue` like S3

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _forward(self) -> None:
                with proxy.counted("partNumber=" in self.path and self.command == "PUT"):
                    self._forward_request()

            def _forward_request(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                proxy.seen.append(self.path)
                if any(m in self.path for m in proxy.stall):
                    proxy.stalled.set()
                    proxy.stopping.wait(60)
                    return
                if any(m in self.path for m in proxy.hold):
                    proxy.released.wait(60)
                failing = next((m for m in proxy.fail_once if m in self.path), None)
                if failing:
                    proxy.fail_once.discard(failing)
                    self._reply(500, {}, b"<Error><Code>InternalError</Code></Error>")
                    return
                if body and any(m in self.path for m in proxy.corrupt):
                    body = bytes([body[0] ^ 0xFF]) + body[1:]
                upstream = HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "expect"}
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                self._reply(response.status, dict(response.getheaders()), response.read())
                upstream.close()

            def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()


def peak_memory(command: Callable[[], subprocess.Popen[str]]) -> tuple[subprocess.Popen[str], int, str, str]:
    """Start `command`, sample its process tree's RSS every 50 ms until it exits; returns the peak."""
    process = command()
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss_bytes(process.pid))
        time.sleep(0.05)
    stdout, stderr = process.communicate()
    return process, peak, stdout, stderr


@dataclass
class Collection:
    """One remediation's collection against moto: manifests written by the real workflow functions."""

    s3: Any
    bucket: str
    instance_id: str = "i-0123456789abcdef0"
    execution_name: str = "exec-1"
    locate_stdout: str = ""  # what SSM would return for the last locate command

    @property
    def keys(self) -> CollectionKeys:
        return collection_keys(self.instance_id, self.execution_name)

    def locate(
        self, shell: str, root: InstanceRoot, interrupted_at: datetime, min_part_size: int = DEFAULT_MIN_PART_SIZE
    ) -> tuple[subprocess.CompletedProcess[str], LocateResult]:
        issued = write_locate_manifest(self.s3, bucket=self.bucket, keys=self.keys, interrupted_at=interrupted_at,
                                       min_part_size=min_part_size)
        result = run_linux_collector(shell, root, "locate", issued.manifest_url)
        assert result.returncode == 0, result.stderr
        self.locate_stdout = result.stdout
        return result, read_locate_result(self.s3, bucket=self.bucket, keys=self.keys)

    def plan(self, located: LocateResult, client: Any = None, min_part_size: int = DEFAULT_MIN_PART_SIZE,
             kms_key_id: str | None = None, parallel_parts: int = 1) -> PlannedUpload:
        """The real plan_upload, with the locate command's stdout as SSM returns it."""
        return plan_upload(client or self.s3, bucket=self.bucket, keys=self.keys, located=located,
                           locate_stdout=self.locate_stdout[:24_000], min_part_size=min_part_size,
                           kms_key_id=kms_key_id, parallel_parts=parallel_parts)

    def complete(self, upload: PlannedUpload, located: LocateResult, upload_stdout: str) -> CollectedDump:
        return complete_upload(self.s3, plan=upload.plan, located=located, locate_stdout=self.locate_stdout[:24_000],
                               upload_stdout=upload_stdout[:24_000])

    def text(self, key: str) -> str:
        body: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body.decode()

    def object_bytes(self, key: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body
