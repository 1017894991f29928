"""`make bench`: every figure of issue 14's table as `name=value` lines, each measured side by side in this
one run (ratios and counts: these machines are shared and noisy), then the overhead model per phase, then
issue 11's vmcore analysis figures on the real dump and symbols `make test-kernel` cached, then the storm of
issue 12 (bench/storm_run.py).

    .venv/bin/python -m bench.run_bench [--smoke]

--smoke runs every measurement at tiny sizes, so that `make test` proves the benchmark still runs; its
values mean nothing."""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from panic_button.logic.collection_plan import choose_part_size
from panic_button.models.collection import MIB

from bench.bench_collector_upload import local_s3, make_dump, measure_upload
from bench.bench_verify import FULL_SIZES, SMOKE_SIZES, verification_figures
from bench.bench_vmcore_analysis import KERNEL_CACHE, cached_figures
from bench.fresh_imports import handler_import_ratios
from bench.overhead_model import Inputs, dump_write_and_reboot_seconds, model, own_overhead_share
from bench.rate_capped_proxy import RateCappedProxy
from bench.rescue_run import rescue_states
from bench.storm_run import benchmark_storm


@dataclass(frozen=True)
class Sizes:
    import_repeat: int
    import_handlers: int | None  # None: every handler
    dump_mib: int
    upload_repeat: int
    cap_mib_per_second: int
    parallel_curve: tuple[int, ...]  # parallel_parts values measured through the capped endpoint, once each
    time_scale: float
    reboot_seconds: float
    verify_sizes: tuple[tuple[str, int], ...]  # complete_upload's cost by dump size (issue 10)
    analysis_repeat: int
    storm_alarms: int


# The cap is per connection, and low enough that eight capped connections stay under what the local S3 and
# the collector's hashing manage together on two cores: the curve then shows the collector, not the host.
FULL = Sizes(import_repeat=7, import_handlers=None, dump_mib=1024, upload_repeat=3, cap_mib_per_second=16,
             parallel_curve=(1, 2, 4, 6, 8),
             # Scale 2: a handler's wall time (about 0.3 s, more on a loaded host) then costs about the
             # simulated seconds a poll takes on AWS; at 10 a loaded host's 1 s calls read as 10 s, and the
             # recovery polls, which count waits in AWS time, come early and take extra rounds.
             time_scale=2, reboot_seconds=dump_write_and_reboot_seconds(Inputs(0, 0).dump_bytes),
             verify_sizes=FULL_SIZES, analysis_repeat=3, storm_alarms=500)
SMOKE = Sizes(import_repeat=1, import_handlers=2, dump_mib=8, upload_repeat=1, cap_mib_per_second=64,
              parallel_curve=(2,),
              time_scale=100, reboot_seconds=5, verify_sizes=SMOKE_SIZES, analysis_repeat=0, storm_alarms=8)


def default_parallel_parts() -> int:
    """The deployment's setting (cdk.json): the figures are for the default a team gets."""
    context = json.loads((Path(__file__).resolve().parent.parent / "cdk.json").read_text())["context"]
    return int(context["panic-button:upload-parallel-parts"])


def emit(name: str, value: float | int | str) -> None:
    print(f"{name}={value:.3g}" if isinstance(value, float) else f"{name}={value}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: proves the benchmark runs")
    sizes = SMOKE if parser.parse_args().smoke else FULL

    ratios = handler_import_ratios(sizes.import_repeat, limit=sizes.import_handlers)
    worst = max(ratios, key=ratios.__getitem__)
    emit("handler_import_vs_boto3", ratios[worst])
    emit("handler_import_worst", worst.rsplit(".", 1)[-1])

    with local_s3() as port, tempfile.TemporaryDirectory(prefix="bench-collector-") as scratch:
        root = Path(scratch) / "instance"
        dump = make_dump(root, sizes.dump_mib * MIB)
        part_size = choose_part_size(dump.stat().st_size)
        parallel = default_parallel_parts()
        direct = measure_upload(f"http://127.0.0.1:{port}", root, dump, part_size=part_size, shell="dash",
                                repeat=sizes.upload_repeat, parallel_parts=parallel)
        emit("upload_parallel_parts", parallel)
        emit("upload_vs_single_put", direct.upload_vs_single_put)
        with RateCappedProxy(port, sizes.cap_mib_per_second * MIB) as proxy:
            capped = measure_upload(f"http://127.0.0.1:{proxy.port}", root, dump, part_size=part_size,
                                    shell="dash", repeat=sizes.upload_repeat, parallel_parts=parallel)
            emit("upload_vs_single_put_capped", capped.upload_vs_single_put)
            emit("upload_cap_mib_per_connection", sizes.cap_mib_per_second)
            emit("collector_peak_rss_mib", capped.collector_peak_rss / MIB)  # parts in flight: the most processes
            emit("collector_peak_pss_mib", capped.collector_peak_pss / MIB)
            for count in sizes.parallel_curve:  # the curve the default was picked from
                point = measure_upload(f"http://127.0.0.1:{proxy.port}", root, dump, part_size=part_size,
                                       shell="dash", repeat=1, parallel_parts=count)
                emit(f"upload_capped_p{count}_vs_single_put", point.upload_vs_single_put)
                emit(f"upload_capped_p{count}_peak_rss_mib", point.collector_peak_rss / MIB)
                emit(f"upload_capped_p{count}_peak_pss_mib", point.collector_peak_pss / MIB)

    for name, value in verification_figures(sizes.verify_sizes):
        emit(name, value)

    states = rescue_states(sizes.reboot_seconds, sizes.time_scale)
    emit("transitions_per_rescue", len(states))

    phases = model(states, Inputs(handler_import_vs_boto3=ratios[worst],
                                  upload_vs_single_put_capped=capped.upload_vs_single_put))
    emit("own_overhead_share", own_overhead_share(phases))
    for name, phase in phases.items():
        emit(f"phase_{name}_seconds", phase.total)
        emit(f"phase_{name}_own_seconds", phase.own)

    for name, figure in cached_figures(KERNEL_CACHE, sizes.analysis_repeat):
        emit(name, figure)
    for name, value in benchmark_storm(sizes.storm_alarms):
        emit(name, value)

if __name__ == "__main__":
    main()
