"""Step 4: console output and screenshot land in the bucket before the interrupt; failures are recorded,
never raised. EC2 answers are scripted (moto has no GetConsoleScreenshot); S3 is moto."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from botocore.stub import Stubber
from panic_button.logic.evidence import capture_evidence
from panic_button.models.state import Evidence

from .support import BUCKET, INSTANCE, aws_client, client_error

PREFIX = f"remediations/{INSTANCE}/run-1"
CONSOLE_TEXT = "Kernel panic - not syncing: hung_task: blocked tasks\n"
JPEG = b"\xff\xd8\xff\xe0 a small jpeg \xff\xd9"


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


@pytest.fixture
def stubbed_ec2() -> Any:
    client = aws_client("ec2")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def capture(ec2: Any, s3: Any, *, bucket: str = BUCKET) -> Evidence:
    return capture_evidence(ec2, s3, instance_id=INSTANCE, bucket=bucket, prefix=PREFIX)


def stored(s3: Any, uri: str | None) -> bytes:
    assert uri is not None
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def console_answer(stubber: Stubber, output: str | None, *, latest: bool = True) -> None:
    expected: dict[str, Any] = {"InstanceId": INSTANCE, "Latest": True} if latest else {"InstanceId": INSTANCE}
    response: dict[str, Any] = {"InstanceId": INSTANCE}
    if output is not None:
        response["Output"] = output
    stubber.add_response("get_console_output", response, expected)


def screenshot_answer(stubber: Stubber, image: bytes) -> None:
    stubber.add_response("get_console_screenshot", {"InstanceId": INSTANCE, "ImageData": b64(image)},
                         {"InstanceId": INSTANCE, "WakeUp": False})


def test_both_captures_are_stored_under_the_execution_prefix(stubbed_ec2: Any, s3: Any) -> None:
    ec2, stubber = stubbed_ec2
    console_answer(stubber, b64(CONSOLE_TEXT))
    screenshot_answer(stubber, JPEG)

    evidence = capture(ec2, s3)

    assert evidence.errors == []
    assert evidence.console_output_uri == f"s3://{BUCKET}/{PREFIX}/evidence/console-output.txt"
    assert evidence.screenshot_uri == f"s3://{BUCKET}/{PREFIX}/evidence/screenshot.jpg"
    assert stored(s3, evidence.console_output_uri).decode() == CONSOLE_TEXT
    assert stored(s3, evidence.screenshot_uri) == JPEG


@pytest.mark.parametrize("code", ["UnsupportedOperation", "InvalidParameterValue"])
def test_without_latest_support_the_boot_buffer_is_taken(stubbed_ec2: Any, s3: Any, code: str) -> None:
    ec2, stubber = stubbed_ec2
    client_error(stubber, "get_console_output", code)
    console_answer(stubber, b64("boot buffer\n"), latest=False)
    screenshot_answer(stubber, JPEG)

    evidence = capture(ec2, s3)

    assert stored(s3, evidence.console_output_uri) == b"boot buffer\n"
    assert evidence.errors == []


@pytest.mark.parametrize("output", [None, ""])
def test_an_empty_console_is_stored_as_a_note(stubbed_ec2: Any, s3: Any, output: str | None) -> None:
    ec2, stubber = stubbed_ec2
    console_answer(stubber, output)
    screenshot_answer(stubber, JPEG)

    evidence = capture(ec2, s3)

    assert b"no console output" in stored(s3, evidence.console_output_uri)


def test_a_screenshot_failure_keeps_the_console_output(stubbed_ec2: Any, s3: Any) -> None:
    ec2, stubber = stubbed_ec2
    console_answer(stubber, b64(CONSOLE_TEXT))
    client_error(stubber, "get_console_screenshot", "UnsupportedOperation", "not supported for this type")

    evidence = capture(ec2, s3)

    assert evidence.screenshot_uri is None
    assert evidence.console_output_uri is not None
    assert len(evidence.errors) == 1
    assert evidence.errors[0].startswith("screenshot: UnsupportedOperation")


def test_a_console_error_is_recorded_without_a_second_try(stubbed_ec2: Any, s3: Any) -> None:
    ec2, stubber = stubbed_ec2
    client_error(stubber, "get_console_output", "UnauthorizedOperation")
    screenshot_answer(stubber, JPEG)

    evidence = capture(ec2, s3)

    assert evidence.console_output_uri is None
    assert evidence.screenshot_uri is not None
    assert [e.split(":", 2)[:2] for e in evidence.errors] == [["console output", " UnauthorizedOperation"]]


def test_an_unwritable_bucket_is_recorded_for_both_captures(stubbed_ec2: Any, s3: Any) -> None:
    ec2, stubber = stubbed_ec2
    console_answer(stubber, b64(CONSOLE_TEXT))
    screenshot_answer(stubber, JPEG)

    evidence = capture(ec2, s3, bucket="no-such-bucket")

    assert (evidence.console_output_uri, evidence.screenshot_uri) == (None, None)
    assert [e.split(":")[0] for e in evidence.errors] == ["console output", "screenshot"]
    assert all("NoSuchBucket" in e for e in evidence.errors)


def test_error_notes_are_short(stubbed_ec2: Any, s3: Any) -> None:
    ec2, stubber = stubbed_ec2
    client_error(stubber, "get_console_output", "InternalError", "x" * 5000)
    client_error(stubber, "get_console_screenshot", "InternalError", "y" * 5000)

    evidence = capture(ec2, s3)

    assert len(evidence.errors) == 2
    assert all(len(e) < 400 for e in evidence.errors)


def test_console_output_as_moto_serves_it_is_stored_verbatim(ec2: Any, s3: Any, launch: Any) -> None:
    instance_id = launch()

    evidence = capture_evidence(ec2, s3, instance_id=instance_id, bucket=BUCKET, prefix=PREFIX)

    expected = ec2.get_console_output(InstanceId=instance_id)["Output"].encode()  # botocore decoded it
    assert stored(s3, evidence.console_output_uri) == expected
