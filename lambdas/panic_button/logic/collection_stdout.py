"""The collector's SSM stdout: its first lines carry the hashes the workflow trusts (`ssm_<name>=`)."""

from panic_button.models.collection import SsmReport

STDOUT_READ_LIMIT = 64 * 1024  # SSM returns at most 24,000 characters; more is not SSM's answer


def parse_ssm_report(stdout: str | None) -> SsmReport:
    """The first value of each `ssm_` line: the collector prints them before anything else, and
    GetCommandInvocation keeps only the first 24,000 characters of stdout."""
    values: dict[str, str] = {}
    for line in (stdout or "")[:STDOUT_READ_LIMIT].splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("ssm_"):
            values.setdefault(key.removeprefix("ssm_"), value.strip())
    return SsmReport.model_validate({k: v for k, v in values.items() if k in SsmReport.model_fields})
