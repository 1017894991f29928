"""Step 8b: triage the collected dump's kernel log and store report.json and report.md beside it."""

from __future__ import annotations

from typing import Any

from panic_button.logic.evidence_keys import s3_uri
from panic_button.logic.triage import render_markdown, summary_lines, triage_kernel_log
from panic_button.models.state import Collection, Triage

MAX_LOG_BYTES = 32 * 1024 * 1024  # a kernel log buffer is at most a few MB; refuse anything absurd


def triage_collected_dump(s3: Any, *, bucket: str, collection: Collection, platform: str = "linux") -> Triage:
    if platform == "windows":
        return Triage(summary=["Windows memory dump collected (stop code 0x80 expected after the NMI).",
                               "Open MEMORY.DMP in WinDbg and run `!analyze -v`; no kernel log is shipped.",
                               "Automatic triage reads Linux kernel logs only."])
    if not collection.dmesg_uri:
        return Triage(
            summary=[
                "No kernel log was shipped with the dump.",
                "Run `makedumpfile --dump-dmesg <dump> dmesg.txt` on the dump to read it.",
                "Triage skipped.",
            ]
        )
    key = collection.dmesg_uri.removeprefix(f"s3://{bucket}/")
    body = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{MAX_LOG_BYTES - 1}")["Body"].read()
    report = triage_kernel_log(body.decode("utf-8", errors="replace"))
    folder = key.rsplit("/", 1)[0]
    json_key, markdown_key = f"{folder}/report.json", f"{folder}/report.md"
    s3.put_object(
        Bucket=bucket, Key=json_key, Body=report.model_dump_json(indent=2).encode(), ContentType="application/json"
    )
    s3.put_object(
        Bucket=bucket,
        Key=markdown_key,
        Body=render_markdown(report).encode(),
        ContentType="text/markdown; charset=utf-8",
    )
    return Triage(
        summary=summary_lines(report), report_uri=s3_uri(bucket, json_key), markdown_uri=s3_uri(bucket, markdown_key)
    )
