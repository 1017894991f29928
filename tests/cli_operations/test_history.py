"""`history`: records written by the runtime's RecordStore into a moto table with the stack's keys."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from panic_button.dal.record_store import RecordStore
from panic_button.models.record import RemediationRecord
from panic_button.models.state import Artifact
from panic_button.outcomes import Outcome
from rich.console import Console

from panic_button_cli.operations import OperatorError, run_history
from panic_button_cli.operations.history import records_table
from panic_button_cli.operations.records import parse_since
from tests.cli_operations.cli import parse
from tests.cli_operations.conftest import Deployed

NOW = datetime(2024, 5, 8, 12, 0, tzinfo=UTC)
WEB, DB = "i-0123456789abcdef0", "i-0fedcba9876543210"


def a_record(instance_id: str, *, at: datetime, execution: str, outcome: Outcome = Outcome.DUMP_COLLECTED,
             execution_id: str | None = None, reason: str = "crash dump collected and verified") -> RemediationRecord:
    dump = [Artifact(s3_uri=f"s3://evidence/{execution}/vmcore", bytes=1024**3, sha256="ab" * 32)]
    return RemediationRecord(
        instance_id=instance_id, execution_id=execution_id or f"arn:aws:states:us-east-1:1:execution:R:{execution}",
        execution_name=execution, outcome=outcome, reason=reason, trigger="manual", instance_name="web-1",
        requested_at=at, finished_at=at + timedelta(minutes=9), seconds_to_interrupt=42, seconds_to_recovery=185,
        artifacts=dump if outcome == Outcome.DUMP_COLLECTED else [],
    )


@pytest.fixture
def records(deployed: Deployed) -> Deployed:
    store = RecordStore(deployed.client("dynamodb"), deployed.table_name)
    store.put_once(a_record(WEB, at=NOW - timedelta(hours=2), execution="web-run"), expires_at=0)
    store.put_once(a_record(DB, at=NOW - timedelta(minutes=10), execution="db-run", outcome=Outcome.NOT_RECOVERED,
                            reason="still impaired after 20 minutes " * 5), expires_at=0)
    store.put_once(a_record(WEB, at=NOW - timedelta(days=8), execution="web-old"), expires_at=0)
    return deployed


def _history(deployed: Deployed, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run_history(parse("history", *argv), deployed.session, now=lambda: NOW)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_lists_the_last_7_days_newest_first(records: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _history(records, capsys, "--json")

    listed = json.loads(out)
    assert code == 0
    assert [item["execution_name"] for item in listed] == ["db-run", "web-run"]
    assert listed[1]["artifacts"][0]["bytes"] == 1024**3
    assert RemediationRecord.model_validate(listed[0]).outcome == Outcome.NOT_RECOVERED


def test_instance_and_since_narrow_the_query(records: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    _, web_month, _ = _history(records, capsys, "--json", "--instance", WEB, "--since", "30d")
    _, last_half_hour, _ = _history(records, capsys, "--json", "--since", "30m")

    assert [item["execution_name"] for item in json.loads(web_month)] == ["web-run", "web-old"]
    assert [item["execution_name"] for item in json.loads(last_half_hour)] == ["db-run"]


def test_table_shows_the_columns_an_operator_scans(records: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _history(records, capsys)

    assert code == 0
    web_row = next(line for line in out.splitlines() if WEB in line)
    for cell in ("2024-05-08 10:00", "web-1", "DUMP_COLLECTED", "42s", "3m 05s", "1.0 GiB"):
        assert cell in web_row
    assert "…" in out, "the long reason is truncated"


def test_no_records_says_so(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _history(deployed, capsys)

    assert (code, out) == (0, "No remediations since 2024-05-01 12:00 UTC.\n")


@pytest.mark.parametrize("argv", [("--since", "7 days"), ("--since", "0h"), ("--instance", "web-1")])
def test_bad_input_is_exit_2_and_one_line(deployed: Deployed, capsys: pytest.CaptureFixture[str],
                                          argv: tuple[str, ...]) -> None:
    code, out, err = _history(deployed, capsys, *argv)

    assert (code, out) == (2, "")
    assert err.startswith("error: ") and err.count("\n") == 1


def test_a_missing_stack_names_the_fix(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _history(deployed, capsys, "--stack", "PanicButton-staging")

    assert code == 2
    assert err == ("error: stack 'PanicButton-staging' not found in us-east-1; "
                   "deploy with cdk deploy or pass --stack\n")


def test_since_understands_minutes_hours_and_days() -> None:
    assert [parse_since(text) for text in ("30m", "6h", "7d")] == [
        timedelta(minutes=30), timedelta(hours=6), timedelta(days=7)]
    with pytest.raises(OperatorError) as error:
        parse_since("1w")
    assert error.value.one_line() == "error: --since '1w' is not a duration; use a number and m, h or d: 30m, 6h, 7d"


def test_the_culprit_stands_in_for_the_reason_once_the_dump_was_analysed() -> None:
    culprit = "CPU 0 monopolised by SCHED_FIFO task spin (pid 9) in user space"
    analysed = a_record(WEB, at=NOW, execution="analysed").model_copy(update={"culprit": culprit})
    plain = a_record(DB, at=NOW, execution="plain")
    out = io.StringIO()

    Console(file=out, width=250).print(records_table([analysed, plain]))

    rows = {line.split("│")[2].strip(): line for line in out.getvalue().splitlines() if "│ i-" in line}
    assert "CPU 0 monopolised by SCHED_FIFO task spin" in rows[WEB]
    assert "crash dump collected" not in rows[WEB]
    assert "crash dump collected and verified" in rows[DB]


def test_a_hubs_member_records_show_their_account_and_region() -> None:
    member = a_record(WEB, at=NOW, execution="member").model_copy(update={"account": "222222222222",
                                                                            "region": "eu-west-1"})
    own = a_record(DB, at=NOW, execution="own")
    out = io.StringIO()

    Console(file=out, width=250).print(records_table([member, own]))

    lines = out.getvalue().splitlines()
    header = next(line for line in lines if "instance" in line)
    assert [cell.strip() for cell in header.split("┃")[1:4]] == ["when (UTC)", "account", "region"]
    rows = {line.split("│")[4].strip(): [cell.strip() for cell in line.split("│")[2:4]]
            for line in lines if "│ i-" in line}
    assert rows == {WEB: ["222222222222", "eu-west-1"], DB: ["-", "-"]}


def test_single_account_records_have_no_account_columns() -> None:
    out = io.StringIO()

    Console(file=out, width=250).print(records_table([a_record(DB, at=NOW, execution="own")]))

    assert "account" not in out.getvalue()
