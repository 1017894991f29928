"""Step 4: capture what the interrupt will destroy: the serial console and a screenshot. A failure
here is recorded and never blocks the rescue."""

from __future__ import annotations

import base64
from typing import Any

from panic_button.aws import AwsUnavailable, error_code
from panic_button.logic.evidence_keys import s3_uri
from panic_button.logic.serial_console import read_console
from panic_button.models.state import Evidence


def capture_evidence(ec2: Any, s3: Any, *, instance_id: str, bucket: str, prefix: str) -> Evidence:
    evidence = Evidence()
    try:
        console = _console_output(ec2, instance_id)
        key = f"{prefix}/evidence/console-output.txt"
        s3.put_object(Bucket=bucket, Key=key, Body=console, ContentType="text/plain; charset=utf-8")
        evidence.console_output_uri = s3_uri(bucket, key)
    except Exception as error:  # evidence is best effort: record why and go on with the rescue
        _unless_unavailable(error)
        evidence.errors.append(f"console output: {_describe(error)}")
    try:
        image = ec2.get_console_screenshot(InstanceId=instance_id, WakeUp=False)["ImageData"]
        key = f"{prefix}/evidence/screenshot.jpg"
        s3.put_object(Bucket=bucket, Key=key, Body=base64.b64decode(image), ContentType="image/jpeg")
        evidence.screenshot_uri = s3_uri(bucket, key)
    except Exception as error:
        _unless_unavailable(error)
        evidence.errors.append(f"screenshot: {_describe(error)}")
    return evidence


def _console_output(ec2: Any, instance_id: str) -> bytes:
    text = read_console(ec2, instance_id)
    return text.encode("utf-8") if text else b"(the instance returned no console output)\n"


def _unless_unavailable(error: Exception) -> None:
    """Throttling or a 5xx through every SDK attempt: run the step again rather than lose the evidence."""
    if isinstance(error, AwsUnavailable):
        raise error


def _describe(error: Exception) -> str:
    return f"{error_code(error) or type(error).__name__}: {error}"[:300]
