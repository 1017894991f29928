"""Step 8b: triage the collected dump's kernel log, analyse the vmcore itself, and store report.json
and report.md beside them (logic/vmcore_analysis.py: the culprit first, the log triage as a section)."""

from __future__ import annotations

from typing import Any

from panic_button.logic.collected_dump_analysis import analyse_collected_dump
from panic_button.logic.evidence_keys import s3_uri
from panic_button.logic.triage import summary_lines
from panic_button.logic.vmcore_analysis import REPORT_JSON, REPORT_MARKDOWN, dump_report
from panic_button.logic.vmcore_markdown import render_dump_report
from panic_button.models.state import Collection, Triage
from panic_button.settings import Settings

MAX_LOG_BYTES = 32 * 1024 * 1024  # a kernel log buffer is at most a few MB; refuse anything absurd
DEFAULT_MAX_DUMP_BYTES = Settings.model_fields["analysis_max_dump_bytes"].default


def triage_collected_dump(
    s3: Any, *, bucket: str, collection: Collection, platform: str = "linux",
    max_dump_bytes: int = DEFAULT_MAX_DUMP_BYTES, debuginfod_servers: tuple[str, ...] = (),
) -> Triage:  # fmt: skip
    if platform == "windows":
        return Triage(summary=["Windows memory dump collected (stop code 0x80 expected after the NMI).",
                               "Open MEMORY.DMP in WinDbg and run `!analyze -v`; no kernel log is shipped.",
                               "Automatic triage reads Linux kernel logs only."])
    vmcore = analyse_collected_dump(s3, bucket=bucket, collection=collection, max_dump_bytes=max_dump_bytes,
                                    debuginfod_servers=debuginfod_servers)
    if not collection.dmesg_uri and vmcore is None:
        return Triage(
            summary=[
                "No kernel log was shipped with the dump.",
                "Run `makedumpfile --dump-dmesg <dump> dmesg.txt` on the dump to read it.",
                "Triage skipped.",
            ]
        )
    log_text = _kernel_log(s3, bucket, collection.dmesg_uri) if collection.dmesg_uri else None
    dump_uri = next((a.s3_uri for a in collection.artifacts if a.kind == "dump"), None)
    report = dump_report(vmcore, log_text, dump_uri)
    folder = _evidence_folder(bucket, collection)
    json_key, markdown_key = f"{folder}/{REPORT_JSON}", f"{folder}/{REPORT_MARKDOWN}"
    s3.put_object(
        Bucket=bucket, Key=json_key, Body=report.model_dump_json(indent=2).encode(), ContentType="application/json"
    )
    s3.put_object(
        Bucket=bucket,
        Key=markdown_key,
        Body=render_dump_report(report).encode(),
        ContentType="text/markdown; charset=utf-8",
    )
    summary = summary_lines(report.kernel_log) if report.kernel_log else ["No kernel log was shipped with the dump."]
    return Triage(
        summary=summary,
        culprit=report.culprit,
        vmcore_status=vmcore.status if vmcore else None,
        report_uri=s3_uri(bucket, json_key),
        markdown_uri=s3_uri(bucket, markdown_key),
    )


def _kernel_log(s3: Any, bucket: str, uri: str) -> str:
    key = uri.removeprefix(f"s3://{bucket}/")
    body = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{MAX_LOG_BYTES - 1}")["Body"].read()
    return str(body.decode("utf-8", errors="replace"))


def _evidence_folder(bucket: str, collection: Collection) -> str:
    """The folder the dump (or its log) was collected into: the report goes beside them."""
    uri = collection.dmesg_uri or next(a.s3_uri for a in collection.artifacts if a.kind == "dump")
    return uri.removeprefix(f"s3://{bucket}/").rsplit("/", 1)[0]
