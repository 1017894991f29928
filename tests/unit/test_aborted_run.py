"""The aborted-run recorder on one execution's history: one record, one notification, the guards handed
back as RecordOutcome would have, whatever ended the run. The history is scripted (a Standard execution's
GetExecutionHistory, newest first when asked); DynamoDB, SNS and S3 are moto."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from panic_button.dal.guard_store import GuardStore, make_slot
from panic_button.dal.record_store import RecordStore
from panic_button.errors import ExecutionAlreadyRecorded
from panic_button.logic.aborted_run import AbortedRunResult, RecorderSettings, Services, record_aborted_run
from panic_button.logic.collection_cleanup import SPENT_NOTE
from panic_button.logic.collection_plan import collection_keys
from panic_button.logic.execution_history import read_last_known
from panic_button.logic.guards import apply_guards
from panic_button.models.collection import CollectorAction
from panic_button.models.execution_events import ExecutionStatusDetail
from panic_button.models.state import RemediationState

from .support import BUCKET, INSTANCE, NOW, TABLE_NAME, aws_client, execution_arn, scan_all, target_part
from .test_reporting import Outcomes

SENT_AT = NOW + timedelta(seconds=40)
ENDED = NOW + timedelta(minutes=3)
SLOT = make_slot(int(NOW.timestamp()), INSTANCE, "run-1")
ENDINGS = {"ABORTED": "ExecutionAborted", "FAILED": "ExecutionFailed", "TIMED_OUT": "ExecutionTimedOut"}


class History:
    """GetExecutionHistory of one execution: pages of `maxResults`, newest first when asked."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = [dict(event, id=number) for number, event in enumerate(events, start=1)]
        self.calls = 0

    def get_execution_history(self, *, executionArn: str, reverseOrder: bool = False, maxResults: int = 100,
                              includeExecutionData: bool = False, nextToken: str | None = None) -> dict[str, Any]:
        self.calls += 1
        ordered = list(reversed(self.events)) if reverseOrder else self.events
        start = int(nextToken or 0)
        page: dict[str, Any] = {"events": ordered[start:start + maxResults]}
        if start + maxResults < len(ordered):
            page["nextToken"] = str(start + maxResults)
        return page


def document(**parts: Any) -> dict[str, Any]:
    return {"execution": {"id": execution_arn("run-1"), "name": "run-1"}, "target": target_part(),
            "guard": {"dry_run": False, "lock_owner": "run-1", "rate_slot": SLOT}, **parts}


def history(state: str, doc: dict[str, Any], ending: str, *, error: str = "", cause: str = "",
            entered: bool = True) -> History:
    kind = "Entered" if entered else "Exited"
    details = {"name": state, ("input" if entered else "output"): json.dumps(doc)}
    events: list[dict[str, Any]] = [{"type": "ExecutionStarted"}]
    events += [{"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "Filler", "input": "{}"}}] * 150
    events += [{"type": f"TaskState{kind}", f"state{kind}EventDetails": details}]
    detail_key = ENDINGS[ending][0].lower() + ENDINGS[ending][1:] + "EventDetails"
    events += [{"type": ENDINGS[ending], detail_key: {"error": error, "cause": cause}}]
    return History(events)


def detail(status: str, *, error: str | None = None, cause: str | None = None) -> ExecutionStatusDetail:
    return ExecutionStatusDetail.model_validate({
        "executionArn": execution_arn("run-1"), "stateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:R",
        "name": "run-1", "status": status, "error": error, "cause": cause})


class Recorder:
    def __init__(self, dynamodb: Any, outcomes: Outcomes, s3: Any) -> None:
        self.dynamodb, self.outcomes, self.s3 = dynamodb, outcomes, s3
        self.guards = GuardStore(dynamodb, TABLE_NAME)
        self.guards.take_lock(INSTANCE, "run-1", now=int(NOW.timestamp()), lock_seconds=3600, cooldown_seconds=3600)
        self.guards.reserve_interrupt_slot(SLOT, now=int(NOW.timestamp()), limit=5)

    def run(self, sfn: History, ending: ExecutionStatusDetail) -> AbortedRunResult:
        services = Services(sfn=sfn, ssm=aws_client("ssm"), s3=self.s3, sns=self.outcomes.sns,
                            records=RecordStore(self.dynamodb, TABLE_NAME), guards=self.guards)
        settings = RecorderSettings(topic_arn=self.outcomes.topic_arn, bucket=BUCKET, evidence_prefix="remediations",
                                    retention_days=400, workflow_timeout_seconds=170 * 60)
        return record_aborted_run(ending, services, settings, now=ENDED)

    def records(self) -> list[dict[str, Any]]:
        return [item for item in scan_all(self.dynamodb) if item["sk"]["S"].startswith("RUN#")]

    def instance(self) -> dict[str, Any]:
        return next(item for item in scan_all(self.dynamodb) if item["sk"]["S"] == "STATE")


@pytest.fixture
def recorder(dynamodb: Any, s3: Any) -> Recorder:
    return Recorder(dynamodb, Outcomes(), s3)


SENT = {"impairment": {"instance": "impaired"}, "interrupt": {"sent": True, "sent_at": SENT_AT.isoformat()}}


def test_the_newest_state_is_found_on_the_first_page_of_a_long_history() -> None:
    sfn = history("CheckRecovery", document(**SENT), "ABORTED", error="Operator.Stop", cause="wrong instance")

    last = read_last_known(sfn, execution_arn("run-1"))

    assert (last.state, last.running, last.error, last.cause) == ("CheckRecovery", True, "Operator.Stop",
                                                                  "wrong instance")
    assert RemediationState.model_validate(last.document).interrupt is not None
    assert sfn.calls == 1  # 153 events, read newest first: one page of 100 is enough


def test_a_stop_after_the_interrupt_is_recorded_once_frees_the_lock_and_keeps_the_cooldown(
        recorder: Recorder) -> None:
    sfn = history("CheckRecovery", document(**SENT), "ABORTED", error="Operator.Stop", cause="wrong instance")

    first = recorder.run(sfn, detail("ABORTED"))
    again = recorder.run(sfn, detail("ABORTED"))  # EventBridge delivers at least once

    (record,) = recorder.records()
    assert record["outcome"] == {"S": "WORKFLOW_ABORTED"}
    assert record["reason"]["S"] == ("stopped from outside (StopExecution) in CheckRecovery (Operator.Stop: wrong "
                                     "instance); the interrupt was sent at 2026-11-20T03:13:21Z, so the cooldown holds")
    assert record["interrupt_sent_at"]["S"] == "2026-11-20T03:13:21Z"
    assert [m["MessageId"] for m in recorder.outcomes.delivered()] == [first.message_id]
    assert again.message_id is None
    state = recorder.instance()
    assert "lock_owner" not in state
    assert state["last_interrupt_at"] == {"N": str(int(SENT_AT.timestamp()))}
    assert recorder.guards.recent_interrupts(now=int(ENDED.timestamp())) == [SLOT]  # the slot stays counted


def test_an_execution_recorded_by_record_outcome_is_left_alone(recorder: Recorder) -> None:
    recorded = document(**SENT, outcome={"outcome": "WORKFLOW_FAILED", "reason": "KeyError", "failed": True})
    sfn = history("WorkflowFailed", recorded, "FAILED", error="WorkflowFailed")

    result = recorder.run(sfn, detail("FAILED", error="WorkflowFailed"))

    assert result.outcome is None
    assert recorder.records() == [] and recorder.outcomes.delivered() == []
    assert recorder.instance()["lock_owner"] == {"S": "run-1"}  # RecordOutcome's to release, and it did


def test_a_run_that_ended_inside_send_interrupt_is_taken_as_interrupted(recorder: Recorder) -> None:
    sfn = history("SendInterrupt", document(impairment={"instance": "impaired"}), "FAILED",
                  error="States.Runtime", cause="the history limit")

    result = recorder.run(sfn, detail("FAILED", error="States.Runtime", cause="the history limit"))

    assert result.reason == ("States.Runtime in SendInterrupt: the history limit; it ended during SendInterrupt, so "
                             "the interrupt may have gone out and the cooldown holds")
    assert recorder.instance()["last_interrupt_at"] == {"N": str(int(ENDED.timestamp()))}
    assert recorder.guards.recent_interrupts(now=int(ENDED.timestamp())) == [SLOT]


def test_a_run_that_timed_out_before_the_interrupt_gives_its_slot_back(recorder: Recorder) -> None:
    sfn = history("CaptureEvidence", document(), "TIMED_OUT")

    result = recorder.run(sfn, detail("TIMED_OUT"))

    assert result.reason == ("States.Timeout: the execution ran past the workflow timeout (170 min) in "
                             "CaptureEvidence; no interrupt was sent")
    assert "last_interrupt_at" not in recorder.instance() and "lock_owner" not in recorder.instance()
    assert recorder.guards.recent_interrupts(now=int(ENDED.timestamp())) == []
    assert len(recorder.outcomes.delivered()) == 1


def test_the_manifests_of_an_interrupted_run_are_deleted(recorder: Recorder) -> None:
    prefix = f"remediations/{INSTANCE}/run-1/collector"
    for action in ("locate", "upload"):
        recorder.s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{action}.manifest", Body=b"live presigned URLs")
    recorder.s3.put_object(Bucket=BUCKET, Key=f"{prefix}/locate.result", Body=b"kept: evidence")
    sfn = history("StartLocate", document(**SENT), "ABORTED")

    recorder.run(sfn, detail("ABORTED"))

    left = {item["Key"]: recorder.s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
            for item in recorder.s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert left.pop(f"{prefix}/locate.result") == b"kept: evidence"
    # The write-once keys the collector never wrote hold the note that used their URLs up; no manifest stays.
    keys = collection_keys(INSTANCE, "run-1")
    written_once = {key for action in CollectorAction for key in keys.write_once_keys(action, dmesg=True)}
    assert sorted(left) == sorted(written_once - {f"{prefix}/locate.result"})
    assert set(left.values()) == {SPENT_NOTE.encode()}


def test_a_record_step_that_failed_is_recorded_without_a_second_message(recorder: Recorder) -> None:
    doc = document(**SENT, error={"Error": "NotRecovered", "Cause": json.dumps({"errorMessage": "never came back"})},
                   record_error={"Error": "ResourceNotFoundException", "Cause": "no table"})
    sfn = history("RecordFailed", doc, "FAILED", error="RecordFailed", cause="The outcome could not be recorded")

    result = recorder.run(sfn, detail("FAILED", error="RecordFailed"))

    (record,) = recorder.records()
    assert record["outcome"] == {"S": "WORKFLOW_FAILED"}
    assert result.reason.startswith("RecordFailed in RecordFailed: The outcome could not be recorded; the interrupt")
    assert result.reason.endswith("; the record step was to record NOT_RECOVERED: never came back")
    assert recorder.outcomes.delivered() == []  # NotifyRecordFailure already told the topic
    assert record["notified"] == {"BOOL": True}
    assert "lock_owner" not in recorder.instance()


def test_a_run_that_ended_inside_apply_guards_gives_back_the_lock_and_slot_it_took(recorder: Recorder) -> None:
    # The Recorder fixture took them as ApplyGuards would have, under the execution's name.
    taken = {k: v for k, v in document().items() if k != "guard"}
    sfn = history("ApplyGuards", taken, "ABORTED")

    result = recorder.run(sfn, detail("ABORTED"))

    assert result.reason == "stopped from outside (StopExecution) in ApplyGuards; no interrupt was sent"
    assert "lock_owner" not in recorder.instance()
    assert recorder.guards.recent_interrupts(now=int(ENDED.timestamp())) == []


def test_a_guard_step_that_outlives_its_recorded_execution_gives_back_what_it_took(recorder: Recorder) -> None:
    # A Lambda keeps running past its execution's end: here ApplyGuards takes the lock and a slot only after
    # the recorder has recorded the run and released them.
    taken = {k: v for k, v in document().items() if k != "guard"}
    recorder.run(history("ApplyGuards", taken, "TIMED_OUT"), detail("TIMED_OUT"))
    late = NOW + timedelta(minutes=4)
    target = RemediationState.model_validate(taken).require_target()

    with pytest.raises(ExecutionAlreadyRecorded):
        apply_guards(recorder.guards, target, owner="run-1", now=late, cooldown_seconds=3600, rate_limit=5,
                     lock_seconds=3600, records=RecordStore(recorder.dynamodb, TABLE_NAME))

    assert "lock_owner" not in recorder.instance()
    assert recorder.guards.recent_interrupts(now=int(late.timestamp())) == []
    # The next run of the instance passes the guards at once instead of waiting out the lock's hour.
    assert apply_guards(recorder.guards, target, owner="run-2", now=late, cooldown_seconds=3600, rate_limit=5,
                        lock_seconds=3600).lock_owner == "run-2"
