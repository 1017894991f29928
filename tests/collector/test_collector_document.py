"""The SSM documents: structure, parameter patterns (real presigned URLs pass, injections do not), and
the scripts' static checks. Python's `re` stands in for SSM's matcher: the patterns use only anchors,
classes, groups and bounded repeats, which every regex engine SSM could use reads the same way."""

import json
import re
import string
import subprocess
from typing import Any

import boto3
import pytest
from botocore.config import Config
from collector_harness import LOOPBACK_PATTERN, SHELLS, InstanceRoot, rendered_commands, run_linux_collector
from panic_button.models.collection import (
    ACTION_PATTERN,
    ANY_BUCKET,
    EXECUTION_TIMEOUT_PATTERN,
    MANIFEST_URL_PATTERN,
    manifest_url_pattern,
)

from infra.ssm.documents import SCRIPTS, build_collector_document, script_lines

# The length of an STS session token as Lambda gets it: about 1 KB of base64, +, / and =.
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEP//////////wEaCXVzLWVhc3QtMSJHMEUCIQ" + "Dx+/k=" * 160


def presigned(region: str, operation: str = "get_object", **client_config: Any) -> str:
    s3 = boto3.client(
        "s3",
        region_name=region,
        aws_access_key_id="ASIAEXAMPLEEXAMPLE",
        aws_secret_access_key="secret",
        aws_session_token=SESSION_TOKEN,
        config=Config(signature_version="s3v4", **client_config),
    )
    params: dict[str, Any] = {
        "Bucket": "evidence-123456789012-eu",
        "Key": "remediations/i-0abc/exec-1/collector/upload.manifest",
    }
    if operation == "upload_part":
        params |= {"UploadId": "2~Vn1QxS-abc_def.ghi", "PartNumber": 9999}
    url: str = s3.generate_presigned_url(operation, Params=params, ExpiresIn=21600)
    return url


REAL_URLS = [
    presigned("us-east-1"),
    presigned("eu-central-1", s3={"addressing_style": "path"}),
    presigned("ap-southeast-2", "upload_part"),
    presigned("us-gov-west-1", "put_object"),
    presigned("cn-north-1", "upload_part", s3={"addressing_style": "virtual"}),
    presigned("us-west-2", s3={"use_dualstack_endpoint": True}),
    presigned("us-east-1", s3={"use_accelerate_endpoint": True}),
    "http://127.0.0.1:50123/evidence/remediations/i-0abc/exec-1/collector/locate.manifest?X-Amz-Algorithm="
    "AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date="
    "20260101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=" + "a" * 64,
]
VALID = presigned("us-east-1", s3={"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"})
INJECTIONS = [
    VALID + "'; rm -rf /",
    VALID + "';rm${IFS}-rf${IFS}/;'",
    VALID.replace("X-Amz-Expires", "X-Amz-`reboot`Expires"),
    VALID + "$(reboot)",
    VALID + "\nreboot",
    VALID.replace("&", "\n", 1),
    VALID + " ",
    VALID + "|reboot",
    VALID + ";reboot",
    VALID + "{{ Action }}",
    VALID + "\u2019; Restart-Computer",  # PowerShell treats curly quotes as quotes
    VALID + '"',
    VALID + "\\",
    "file:///etc/shadow?x=1",
    "http://169.254.169.254/latest/meta-data/iam?x=1",  # plain http only to the sandbox's 127.0.0.1
    "http://127.0.0.1.attacker.example:80/x?y=1",
    "https://evil.example/?x=1",  # no path: not an S3 object URL
    "https://s3.us-east-1.example.test/b/k?" + "a" * 5000,  # bounded
    "",
]


@pytest.mark.parametrize("platform", ["linux", "windows"])
def test_document_is_schema_2_2_with_a_pattern_on_every_parameter(platform: str) -> None:
    document = build_collector_document(platform, LOOPBACK_PATTERN)  # type: ignore[arg-type]
    step = document["mainSteps"][0]
    assert document["schemaVersion"] == "2.2"
    assert set(document["parameters"]) == {"Action", "ManifestUrl", "ExecutionTimeout"}
    assert all("allowedPattern" in spec for spec in document["parameters"].values())
    assert step["inputs"]["timeoutSeconds"] == "{{ ExecutionTimeout }}"
    assert step["precondition"] == {"StringEquals": ["platformType", platform.capitalize()]}
    commands = step["inputs"]["runCommand"]
    assert all("'{{ " in line for line in commands[:2])
    assert commands[2:] == script_lines(platform)  # type: ignore[arg-type]
    assert not any("{{" in line for line in commands[2:]), "the script must not reach SSM's interpolation"
    assert len(json.dumps(document)) < 64_000  # SSM's size limit for a Command document


def test_script_lines_drop_only_the_shebang() -> None:
    assert (SCRIPTS / "collect_dump.sh").read_text().startswith("#!/bin/sh")
    assert not script_lines("linux")[0].startswith("#!")
    assert len(script_lines("linux")) == len((SCRIPTS / "collect_dump.sh").read_text().splitlines()) - 1


@pytest.mark.parametrize("url", REAL_URLS)
def test_real_presigned_urls_are_accepted(url: str) -> None:
    assert re.search(MANIFEST_URL_PATTERN, url), url
    assert "X-Amz-Signature=" in url


def test_session_token_urls_are_long_but_within_the_bound() -> None:
    lengths = [len(url) for url in REAL_URLS[:7]]
    assert min(lengths) > 1_000 and max(lengths) < 4_000


@pytest.mark.parametrize("url", INJECTIONS)
def test_injection_attempts_are_rejected(url: str) -> None:
    assert not re.search(MANIFEST_URL_PATTERN, url)


BUCKET = "evidence-123456789012-eu"
STACK_PATTERNS = {  # (region, partition's URL suffix) -> the document pattern a stack there synthesizes
    (region, suffix): manifest_url_pattern(re.escape(BUCKET), re.escape(region), re.escape(suffix))
    for region, suffix in [("us-east-1", "amazonaws.com"), ("eu-central-1", "amazonaws.com"),
                           ("cn-north-1", "amazonaws.com.cn"), ("us-gov-west-1", "amazonaws.com")]
}


def _workflow_client_url(region: str, bucket: str = BUCKET) -> str:
    """A manifest URL as the workflow's S3 client (aws.S3_CONFIG) presigns it in `region`."""
    from panic_button.aws import S3_CONFIG
    s3 = boto3.client("s3", region_name=region, aws_access_key_id="ASIAEXAMPLEEXAMPLE", aws_secret_access_key="s",
                      aws_session_token=SESSION_TOKEN, config=S3_CONFIG)
    return str(s3.generate_presigned_url("get_object", ExpiresIn=900, Params={
        "Bucket": bucket, "Key": "remediations/i-0abc/exec-1/collector/upload.manifest"}))


@pytest.mark.parametrize(("region", "suffix"), sorted(STACK_PATTERNS))
def test_a_stack_admits_its_own_bucket_in_its_own_region_and_nothing_else(region: str, suffix: str) -> None:
    pattern = STACK_PATTERNS[(region, suffix)]
    assert re.search(pattern, _workflow_client_url(region))  # us-east-1 too: the client signs for the regional host
    others = [_workflow_client_url(region, "someone-elses-bucket"), _workflow_client_url("ap-south-1"),
              _workflow_client_url(region).replace(f"{BUCKET}.s3.", f"{BUCKET}.s3-accelerate."),
              _workflow_client_url(region).replace(f"{BUCKET}.", f"{BUCKET}.evil.example/"),
              f"http://127.0.0.1:50123/{BUCKET}/remediations/k?X-Amz-Signature=" + "a" * 64]
    assert [url for url in others if re.search(pattern, url)] == []


def test_only_the_sandbox_synth_admits_its_loopback_urls() -> None:
    loopback = f"http://127.0.0.1:50123/{BUCKET}/remediations/i-0abc/collector/upload.manifest?X-Amz-Signature=ab"
    sandbox = manifest_url_pattern(re.escape(BUCKET), "us-east-1", r"amazonaws\.com", loopback=True)
    assert re.search(sandbox, loopback) and re.search(sandbox, _workflow_client_url("us-east-1"))
    assert not re.search(STACK_PATTERNS[("us-east-1", "amazonaws.com")], loopback)
    assert not re.search(sandbox, loopback.replace(BUCKET, "other-bucket"))
    assert re.fullmatch(ANY_BUCKET, BUCKET) and not re.fullmatch(ANY_BUCKET, "Bad_Bucket")


def test_no_character_that_can_end_a_quoted_string_is_admitted() -> None:
    admitted = {c for c in map(chr, range(128)) if re.search(MANIFEST_URL_PATTERN, f"https://h/p?a={c}b")}
    # Inside single quotes only the quote itself is special (and, for PowerShell, curly quotes).
    assert admitted == set(string.ascii_letters + string.digits + "._~%&=-")


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("action", "url"), [("locate", VALID + "\n"), ("locate\n", VALID)])
def test_a_trailing_newline_slips_past_dollar_but_is_inert_and_refused(
    shell: str, action: str, url: str, instance: InstanceRoot
) -> None:
    # `$` matches before a final newline in most engines. Inside the single quotes that newline is
    # just part of the value, and the collector refuses any value that is not exactly well formed.
    result = run_linux_collector(shell, instance, action, url)
    assert result.returncode == 1
    assert re.fullmatch(
        r"collect_dump: (unknown action '.*|the manifest URL is not a presigned S3 URL)\n", result.stderr, re.DOTALL
    )
    assert instance.leftovers() == []


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("1", True),
        ("3600", True),
        ("172800", True),
        ("0", False),
        ("172801", False),
        ("3600; reboot", False),
        ("", False),
    ],
)
def test_execution_timeout_pattern(value: str, accepted: bool) -> None:
    assert bool(re.search(EXECUTION_TIMEOUT_PATTERN, value)) is accepted


@pytest.mark.parametrize(
    ("value", "accepted"),
    [("locate", True), ("upload", True), ("locate\n", True), ("Locate", False), ("upload;", False), ("", False)],
)
def test_action_pattern(value: str, accepted: bool) -> None:
    # "locate\n" passes `$` in most engines; inside single quotes a trailing newline is inert, and the
    # collector rejects any action other than exactly locate or upload.
    assert bool(re.search(ACTION_PATTERN, value)) is accepted


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("url", REAL_URLS)
def test_an_accepted_url_reaches_the_script_verbatim(shell: str, url: str) -> None:
    # the widest shape any document admits: what reaches the script is quoting's business, not the host's
    preamble = rendered_commands("linux", {"Action": "locate", "ManifestUrl": url}, MANIFEST_URL_PATTERN)[:2]
    script = "\n".join([*preamble, 'printf "%s|%s" "$PB_ACTION" "$PB_MANIFEST_URL"'])
    printed = subprocess.run([shell, "-c", script], capture_output=True, text=True, check=True).stdout
    assert printed == f"locate|{url}"


@pytest.mark.parametrize("shell", SHELLS)
def test_collector_parses_under_each_shell(shell: str) -> None:
    subprocess.run([shell, "-n", str(SCRIPTS / "collect_dump.sh")], check=True)


def test_powershell_collector_says_it_is_untested_and_mirrors_the_sections() -> None:
    ps1 = (SCRIPTS / "collect_dump.ps1").read_text()
    sh = (SCRIPTS / "collect_dump.sh").read_text()
    assert "UNTESTED ON WINDOWS" in ps1
    sections = re.compile(r"^# --- (\d+)\. ([^-]+?) -", re.MULTILINE)
    assert [m.group(1) for m in sections.finditer(ps1)] == [m.group(1) for m in sections.finditer(sh)]
