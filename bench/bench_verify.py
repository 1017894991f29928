"""Verification cost by dump size: time and S3 API calls of complete_upload (CompleteMultipartUpload,
HeadObject, the result read, manifest.json, the manifest purge), against an in-process moto S3 with the
sandbox's checksum emulation.

    .venv/bin/python -m bench.bench_verify      (also part of `make bench`: bench/run_bench.py)

Prints name=value lines: verify_<size>_parts, _s3_calls, _seconds (the whole complete_upload) and
_own_seconds (the caller's work, without the time spent waiting for moto).

1 MiB and 512 MiB dumps are uploaded for real (64 MiB parts). The 100 GiB dump cannot be held by moto
here: its 1,600 parts are uploaded as 1 KiB stand-ins (moto's minimum part size lowered for this run) and
HeadObject's ContentLength is reported as 100 GiB, a sparse object as far as verification can tell.
Verification never reads the parts, so what is measured is what a real 100 GiB dump would cost."""

import base64
import hashlib
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from moto.s3 import models as moto_s3_models
from moto.server import ThreadedMotoServer
from panic_button.logic.collection_plan import collection_keys
from panic_button.logic.collection_s3 import composite_sha256
from panic_button.logic.collection_verify import complete_upload
from panic_button.models.collection import (
    MIB,
    CollectionKeys,
    CollectorAction,
    LocateResult,
    ManifestHandle,
    UploadPlan,
)

from bench.bench_collector_upload import bench_s3_client
from panic_button_sandbox.moto_s3 import install_s3_checksums
from panic_button_sandbox.patches import Patches

PART = 64 * MIB
GIB = 1024 * MIB
UPLOAD = CollectorAction.UPLOAD


FULL_SIZES = (("1mib", MIB), ("512mib", 512 * MIB), ("100gib", 100 * GIB))
SMOKE_SIZES = (("1mib", MIB), ("1gib", GIB))  # the second as stand-ins, so the stand-in path runs too
REAL_UPLOAD_LIMIT = 512 * MIB


def measure(s3: Any, bucket: str, name: str, size: int, stand_in: bool) -> dict[str, float | int]:
    keys = collection_keys("i-0123456789abcdef0", name)
    count = -(-size // PART)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=keys.dump_key("/var/crash/x/vmcore"),
                                           ChecksumAlgorithm="SHA256")["UploadId"]
    hashes, lines = [], []
    for n in range(1, count + 1):
        body = os.urandom(1024) if stand_in else os.urandom(min(PART, size - (n - 1) * PART))
        digest = hashlib.sha256(body)
        etag = s3.upload_part(Bucket=bucket, Key=keys.dump_key("/var/crash/x/vmcore"), UploadId=upload_id,
                              PartNumber=n, Body=body,
                              ChecksumSHA256=base64.b64encode(digest.digest()).decode())["ETag"].strip('"')
        hashes.append(digest.hexdigest())
        lines.append(f"part={n} {etag} {digest.hexdigest()}")
    composite = composite_sha256(hashes)
    stdout = f"ssm_parts_sha256={composite}\nssm_dump_sha256={'0' * 64}\n"
    result = "\n".join([
        "protocol=1", "action=upload", "status=uploaded", "layout=rhel", "dump_path=/var/crash/x/vmcore",
        f"dump_size={size}", f"part_size={PART}", f"part_count={count}", *lines, f"parts_sha256={composite}",
        f"dump_sha256={'0' * 64}", "dmesg_source=none", ""])
    s3.put_object(Bucket=bucket, Key=keys.collector_key(UPLOAD, "result"), Body=result.encode())
    located = LocateResult(status="found", layout="rhel", dump_path="/var/crash/x/vmcore", dump_size=size,
                           not_before=0, part_size=PART, part_count=count, part_hashes=tuple(hashes),
                           parts_sha256=composite)
    plan = UploadPlan(bucket=bucket, keys=keys, upload_id=upload_id, dump_key=keys.dump_key("/var/crash/x/vmcore"),
                      expect_path="/var/crash/x/vmcore", expect_size=size, part_size=PART, part_count=count,
                      not_before=0, parts_sha256=composite, manifest=_handle(keys))
    calls: Counter[str] = Counter()
    waited: dict[str, float] = {"total": 0.0, "since": 0.0}

    def count_call(model: Any, params: Any, **_: Any) -> None:
        calls[model.name] += 1
        waited["since"] = time.perf_counter()

    def call_done(**_: Any) -> None:
        waited["total"] += time.perf_counter() - waited["since"]

    def sparse_length(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if stand_in and model.name == "HeadObject":
            parsed["ContentLength"] = size  # the stand-in parts total what a 100 GiB dump would

    s3.meta.events.register("before-call.s3", count_call)
    s3.meta.events.register("after-call.s3", call_done)
    s3.meta.events.register("after-call.s3.HeadObject", sparse_length)
    started = time.perf_counter()
    collected = complete_upload(s3, plan=plan, located=located, locate_stdout=stdout, upload_stdout=stdout)
    seconds = time.perf_counter() - started
    s3.meta.events.unregister("before-call.s3", count_call)
    s3.meta.events.unregister("after-call.s3", call_done)
    s3.meta.events.unregister("after-call.s3.HeadObject", sparse_length)
    assert collected.manifest.checksum_sha256 == f"{composite}-{count}"
    # moto assembles the object in Python inside CompleteMultipartUpload (real S3 does it server-side too):
    # the caller's own share is the time not spent waiting for S3.
    return {f"verify_{name}_parts": count, f"verify_{name}_s3_calls": sum(calls.values()),
            f"verify_{name}_seconds": seconds, f"verify_{name}_own_seconds": seconds - waited["total"]}


def _handle(keys: CollectionKeys) -> ManifestHandle:
    return ManifestHandle(action=UPLOAD, manifest_key=keys.collector_key(UPLOAD, "manifest"),
                          result_key=keys.collector_key(UPLOAD, "result"), log_key=keys.collector_key(UPLOAD, "log"),
                          url_expires_at=datetime.now(UTC))


def verification_figures(sizes: tuple[tuple[str, int], ...] = FULL_SIZES) -> Iterator[tuple[str, float | int]]:
    """name=value figures of complete_upload per dump size, against a local moto server."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    patches = Patches()
    install_s3_checksums(patches)
    patches.replace(moto_s3_models, "S3_UPLOAD_PART_MIN_SIZE", 1)  # the 1 KiB stand-in parts
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        # Patient reads: moto assembles a 512 MiB upload in memory, past the Lambdas' 15 s on a loaded host.
        s3 = bench_s3_client(f"http://127.0.0.1:{port}")
        for name, size in sizes:
            bucket = f"bench-verify-{name}"  # one bucket each: moto lists versions by walking them all
            s3.create_bucket(Bucket=bucket)
            yield from measure(s3, bucket, name, size, stand_in=size > REAL_UPLOAD_LIMIT).items()
    finally:
        server.stop()
        patches.undo_all()


def main() -> None:
    for name, value in verification_figures():
        print(f"{name}={value:.3g}" if isinstance(value, float) else f"{name}={value}", flush=True)


if __name__ == "__main__":
    main()
