"""Benchmark: the Linux collector's multipart upload against one single-request PUT of the same file to
the same local S3 (moto in server mode on 127.0.0.1), and the collector's peak memory.

    .venv/bin/python -m bench.bench_collector_upload [--size-mib 1024] [--part-mib N] [--shell dash] [--repeat 3]
        [--parallel 1 2 4 6 8] [--cap-mib 16]

Both uploads go through curl to the same endpoint, so the ratio isolates the collector's own overhead
(dd into a part file, SHA-256 of each part and of the whole dump, one request per part). Absolute MB/s
are moto's, not S3's, and moto (Python) shares this machine's CPUs with the collector's hashing.
Peak memory is the resident set of the collector's whole process tree (sh, dd, sha256sum, cat, curl),
sampled from /proc every 20 ms.

--parallel measures the curve of parallel part uploads (the manifest's parallel_parts); --cap-mib puts a
proxy capping each TCP connection at that many MiB/s in front of the endpoint, as S3 caps each connection."""

import argparse
import contextlib
import logging
import os
import re
import resource
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer
from panic_button.aws import S3_CONFIG
from panic_button.logic.collection_plan import (
    choose_part_size,
    collection_keys,
    plan_upload,
    read_locate_result,
    write_locate_manifest,
)
from panic_button.logic.collection_verify import complete_upload
from panic_button.models.collection import MANIFEST_URL_PATTERN, MIB

from bench.rate_capped_proxy import RateCappedProxy
from infra.ssm.documents import build_collector_document
from panic_button_sandbox.moto_s3 import install_s3_checksums
from panic_button_sandbox.patches import Patches
from panic_button_sandbox.process_memory import tree_pss_bytes, tree_rss_bytes

BUCKET = "bench-evidence"
# moto assembles a completed multipart upload in memory: on a loaded host that outlasts the Lambdas' 15 s
# read timeout, and the SDK's retry then finds the upload already gone. The benchmark waits instead.
BENCH_S3_CONFIG = S3_CONFIG.merge(Config(read_timeout=600))


def bench_s3_client(endpoint_url: str) -> Any:
    """The Lambdas' S3 client settings (SigV4, virtual addressing, standard retries), patient reads."""
    return boto3.client("s3", endpoint_url=endpoint_url, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", aws_session_token="bench-token", config=BENCH_S3_CONFIG)


def start_collector(shell: str, root: Path, action: str, manifest_url: str) -> subprocess.Popen[bytes]:
    """The document's runCommand with parameters substituted, as the SSM agent runs it."""
    commands = build_collector_document("linux", MANIFEST_URL_PATTERN)["mainSteps"][0]["inputs"]["runCommand"]
    values = {"Action": action, "ManifestUrl": manifest_url}
    script = root.parent / f"_{action}.sh"
    script.write_text("\n".join(re.sub(r"\{\{ (\w+) \}\}", lambda m: values[m.group(1)], c) for c in commands))
    environment = {"PATH": os.environ["PATH"], "PANIC_BUTTON_ROOT": str(root), "LANG": "C"}
    return subprocess.Popen([shell, str(script)], env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(process: subprocess.Popen[bytes]) -> tuple[float, int, int, float, str]:
    """Wall seconds, peak tree RSS and PSS, CPU seconds (the tree's, once reaped) and stdout of a process."""
    started, cpu_before, peak, peak_pss = time.monotonic(), children_cpu(), 0, 0
    while process.poll() is None:
        peak = max(peak, tree_rss_bytes(process.pid))
        peak_pss = max(peak_pss, tree_pss_bytes(process.pid))
        time.sleep(0.02)
    seconds = time.monotonic() - started
    stdout, stderr = process.communicate()
    if process.returncode:
        raise SystemExit(f"failed: {stderr.decode().strip()}")
    return seconds, peak, peak_pss, children_cpu() - cpu_before, (stdout or b"").decode()


def make_dump(root: Path, size: int) -> Path:
    dump = root / "var/crash/127.0.0.1-2026-05-01-10:00:00/vmcore"
    dump.parent.mkdir(parents=True)
    (root / "var/tmp").mkdir(parents=True)
    with dump.open("wb") as handle:  # random bytes: nothing along the way can shortcut zeros
        for _ in range(size // (8 * MIB)):
            handle.write(os.urandom(8 * MIB))
        handle.write(os.urandom(size % (8 * MIB)))
    return dump


@dataclass(frozen=True)
class UploadFigures:
    """Medians of interleaved runs: the single PUT's and the collector's seconds, CPU and peak tree RSS."""

    size: int
    part_size: int
    repeat: int
    parallel_parts: int
    single_seconds: float
    single_cpu: float
    single_peak_rss: int
    collector_seconds: float
    collector_cpu: float
    collector_peak_rss: int  # the tree's summed RSS: every curl's shared libraries counted again
    collector_peak_pss: int  # the tree's summed PSS: what it costs the instance
    verify_seconds: float

    @property
    def upload_vs_single_put(self) -> float:
        """Collector throughput / single-PUT throughput (same bytes, so the inverse ratio of seconds)."""
        return self.single_seconds / self.collector_seconds


@contextlib.contextmanager
def local_s3() -> Iterator[int]:
    """moto in server mode on a free 127.0.0.1 port, with the benchmark bucket."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    patches = Patches()
    install_s3_checksums(patches)  # the part checksums and the composite, as S3 checks and answers them
    server.start()
    try:
        bench_s3_client(f"http://127.0.0.1:{port}").create_bucket(Bucket=BUCKET)
        yield port
    finally:
        server.stop()
        patches.undo_all()


def measure_upload(endpoint: str, root: Path, dump: Path, *, part_size: int, shell: str,
                   repeat: int, parallel_parts: int = 1) -> UploadFigures:
    """The collector's upload and one single PUT of `dump`, interleaved, through `endpoint` (the URLs the
    instance gets are presigned for it, so a proxy in front of S3 sees every upload byte)."""
    s3: Any = bench_s3_client(endpoint)
    singles, collectors = [], []
    for attempt in range(repeat):  # interleaved, so load from elsewhere hits both alike
        singles.append(single_put(s3, dump))
        collectors.append(collector_upload(s3, root, part_size, shell, attempt, parallel_parts=parallel_parts))
    return UploadFigures(
        size=dump.stat().st_size, part_size=part_size, repeat=repeat, parallel_parts=parallel_parts,
        single_seconds=statistics.median(s[0] for s in singles),
        single_cpu=statistics.median(s[2] for s in singles),
        single_peak_rss=max(s[1] for s in singles),
        collector_seconds=statistics.median(c[0] for c in collectors),
        collector_cpu=statistics.median(c[3] for c in collectors),
        collector_peak_rss=max(c[1] for c in collectors),
        collector_peak_pss=max(c[2] for c in collectors),
        verify_seconds=statistics.median(c[4] for c in collectors),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--part-mib", type=int, default=0, help="default: what the workflow chooses")
    parser.add_argument("--shell", default="dash")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parallel", type=int, nargs="+", default=[1], help="parallel_parts values to measure")
    parser.add_argument("--cap-mib", type=int, default=0, help="cap each connection at this many MiB/s")
    args = parser.parse_args()
    with local_s3() as port, tempfile.TemporaryDirectory(prefix="bench-collector-") as scratch:
        size = args.size_mib * MIB
        root = Path(scratch) / "instance"
        dump = make_dump(root, size)
        with contextlib.ExitStack() as stack:
            endpoint_port = port
            if args.cap_mib:
                endpoint_port = stack.enter_context(RateCappedProxy(port, args.cap_mib * MIB)).port
            for parallel_parts in args.parallel:
                figures = measure_upload(f"http://127.0.0.1:{endpoint_port}", root, dump, shell=args.shell,
                                         repeat=args.repeat, part_size=args.part_mib * MIB or choose_part_size(size),
                                         parallel_parts=parallel_parts)
                report(figures, args.shell)


def single_put(s3: Any, dump: Path) -> tuple[float, int, float]:
    """One request: curl -T of the whole file to a presigned PutObject URL."""
    url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "single"}, ExpiresIn=3600)
    *measured, _ = timed(
        subprocess.Popen(["curl", "-sS", "-g", "-f", "-o", "/dev/null", "-T", str(dump), url], stderr=subprocess.PIPE)
    )
    s3.delete_object(Bucket=BUCKET, Key="single")
    return measured[0], int(measured[1]), measured[3]


def collector_upload(s3: Any, root: Path, part_size: int, shell: str, run: int, *,
                     parallel_parts: int = 1) -> tuple[float, int, int, float, float]:
    """locate, plan, upload (measured), complete + verify (measured separately)."""
    keys = collection_keys("i-0bench", f"bench-{run}-p{parallel_parts}")
    interrupted_at = datetime.now(UTC) - timedelta(minutes=1)
    for dump in (root / "var/crash").glob("*/vmcore"):  # written after this run's interrupt, as kdump would
        os.utime(dump)
    handle = write_locate_manifest(s3, bucket=BUCKET, keys=keys, interrupted_at=interrupted_at,
                                   min_part_size=part_size)
    *_, locate_stdout = timed(start_collector(shell, root, "locate", handle.manifest_url))
    located = read_locate_result(s3, bucket=BUCKET, keys=keys)
    planned = plan_upload(s3, bucket=BUCKET, keys=keys, located=located, locate_stdout=locate_stdout,
                          min_part_size=part_size, parallel_parts=parallel_parts)
    seconds, peak, peak_pss, cpu, upload_stdout = timed(start_collector(shell, root, "upload", planned.manifest_url))
    started = time.monotonic()
    complete_upload(s3, plan=planned.plan, located=located, locate_stdout=locate_stdout, upload_stdout=upload_stdout)
    verify_seconds = time.monotonic() - started
    s3.delete_object(Bucket=BUCKET, Key=planned.plan.dump_key)
    return seconds, peak, peak_pss, cpu, verify_seconds


def report(figures: UploadFigures, shell: str) -> None:
    mb = figures.size / 1e6
    print(
        f"dump: {figures.size / MIB:.0f} MiB of random bytes, {-(-figures.size // figures.part_size)} parts of "
        f"{figures.part_size / MIB:.0f} MiB, {figures.parallel_parts} at a time, shell {shell}, "
        f"median of {figures.repeat} runs"
    )
    print(
        f"single PUT (curl -T):  {figures.single_seconds:6.2f} s {mb / figures.single_seconds:7.1f} MB/s  "
        f"peak RSS {figures.single_peak_rss / MIB:5.1f} MiB  CPU {figures.single_cpu:5.2f} s"
    )
    print(
        f"collector upload:      {figures.collector_seconds:6.2f} s {mb / figures.collector_seconds:7.1f} MB/s  "
        f"peak RSS {figures.collector_peak_rss / MIB:5.1f} MiB (PSS {figures.collector_peak_pss / MIB:5.1f})  "
        f"CPU {figures.collector_cpu:5.2f} s "
        "(whole process tree)"
    )
    print(f"throughput ratio collector/single: {figures.upload_vs_single_put:.2f}")
    print(
        f"complete + verify on the workflow side (S3 composite checksum, no read-back): "
        f"{figures.verify_seconds:.2f} s"
    )


if __name__ == "__main__":
    main()
