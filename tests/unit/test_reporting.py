"""Step 9: one record, one notification, and the guards handed back, whatever the outcome.
DynamoDB, SNS and an SQS subscription (to count what subscribers receive) are moto."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from panic_button.dal.guard_store import GuardStore
from panic_button.dal.record_store import RecordStore
from panic_button.errors import InCooldown, InvalidInput
from panic_button.logic.guards import apply_guards
from panic_button.logic.outcome import decide_outcome
from panic_button.logic.reporting import Reported, outcome_is_failure, report
from panic_button.logic.targets import resolve_target
from panic_button.models.state import RemediationState, Target
from panic_button.outcomes import Outcome

from .support import INSTANCE, NOW, TABLE_NAME, aws_client, remediation_state, scan_all, target_part

FINISHED = NOW + timedelta(minutes=9)
RETENTION_DAYS = 400
SENT_AT = NOW + timedelta(seconds=42)
RECOVERED_AT = NOW + timedelta(minutes=4)


class Outcomes:
    """The topic, with an SQS queue subscribed to it so a test can count what subscribers get."""

    def __init__(self) -> None:
        self.sns, self.sqs = aws_client("sns"), aws_client("sqs")
        self.topic_arn = self.sns.create_topic(Name="panic-button-outcomes")["TopicArn"]
        self.queue_url = self.sqs.create_queue(QueueName="outcomes")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        self.sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])

    def delivered(self) -> list[dict[str, Any]]:
        envelopes: list[dict[str, Any]] = []
        while batch := self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages"):
            envelopes += [json.loads(m["Body"]) for m in batch]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)])
        return envelopes


@pytest.fixture
def outcomes(aws: None) -> Outcomes:
    return Outcomes()


def run_report(state: RemediationState, dynamodb: Any, outcomes: Outcomes, *, now: datetime = FINISHED,
               topic_arn: str | None = None) -> Reported:
    return report(state, decide_outcome(state), records=RecordStore(dynamodb, TABLE_NAME),
                  guards=GuardStore(dynamodb, TABLE_NAME), sns=outcomes.sns,
                  topic_arn=topic_arn or outcomes.topic_arn, now=now, retention_days=RETENTION_DAYS)


def records(dynamodb: Any) -> list[dict[str, Any]]:
    return [item for item in scan_all(dynamodb) if item["sk"]["S"].startswith("RUN#")]


def error(name: str, message: str) -> dict[str, str]:
    return {"Error": name, "Cause": json.dumps({"errorType": name, "errorMessage": message})}


def collected_state() -> RemediationState:
    return remediation_state(
        target=target_part(),
        instance={"instance_id": INSTANCE, "instance_type": "m5.large", "platform": "linux", "state": "running",
                  "name": "db-primary"},
        guard={"dry_run": False},
        evidence={"console_output_uri": "s3://b/console-output.txt", "errors": ["screenshot: UnsupportedOperation"]},
        interrupt={"sent": True, "sent_at": SENT_AT.isoformat()},
        recovery={"status": "RECOVERED", "attempt": 8, "recovered_at": RECOVERED_AT.isoformat()},
        collection={"artifacts": [{"s3_uri": "s3://b/dump/vmcore", "bytes": 4096, "sha256": "cafe"}],
                    "collected_at": (RECOVERED_AT + timedelta(minutes=2)).isoformat()},
        triage={"summary": ["BUG: soft lockup - CPU#1 stuck for 22s"]},
    )


class TestExactlyOnce:
    def test_a_repeated_report_neither_duplicates_the_record_nor_notifies_twice(self, dynamodb: Any,
                                                                               outcomes: Outcomes) -> None:
        state = collected_state()

        first = run_report(state, dynamodb, outcomes)
        second = run_report(state, dynamodb, outcomes, now=FINISHED + timedelta(seconds=30))

        (item,) = records(dynamodb)
        assert len(outcomes.delivered()) == 1
        assert first.message_id is not None
        assert second.message_id is None
        assert item["notified"] == {"BOOL": True}
        assert item["message_id"] == {"S": first.message_id}
        assert item["finished_at"]["S"] == FINISHED.isoformat().replace("+00:00", "Z")

    def test_a_report_retried_after_a_failed_publish_notifies_once(self, dynamodb: Any, outcomes: Outcomes) -> None:
        state = collected_state()
        missing_topic = outcomes.topic_arn.replace("panic-button-outcomes", "deleted-topic")
        with pytest.raises(outcomes.sns.exceptions.NotFoundException):
            run_report(state, dynamodb, outcomes, topic_arn=missing_topic)

        retried = run_report(state, dynamodb, outcomes, now=FINISHED + timedelta(seconds=4))

        assert len(records(dynamodb)) == 1
        assert [m["MessageId"] for m in outcomes.delivered()] == [retried.message_id]

    def test_a_retry_after_the_publish_went_out_never_publishes_again(self, dynamodb: Any, outcomes: Outcomes,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
        # The window RecordOutcome's Retry on States.ALL opened: published, then the message ID write failed.
        state = collected_state()

        def lost_write(self: RecordStore, record: Any, message_id: str) -> None:
            raise RuntimeError("DynamoDB went away after the publish")

        with monkeypatch.context() as patched:
            patched.setattr(RecordStore, "mark_notified", lost_write)
            with pytest.raises(RuntimeError):
                run_report(state, dynamodb, outcomes)
        retried = run_report(state, dynamodb, outcomes, now=FINISHED + timedelta(seconds=4))

        (item,) = records(dynamodb)
        assert len(outcomes.delivered()) == 1
        assert retried.message_id is None
        assert item["notified"] == {"BOOL": True}

    def test_a_rejected_input_retried_later_still_has_one_record(self, dynamodb: Any, outcomes: Outcomes) -> None:
        state = remediation_state(input={"instance_id": "i-bad"}, error=error("InvalidInput", "not an instance ID"))

        run_report(state, dynamodb, outcomes)
        run_report(state, dynamodb, outcomes, now=FINISHED + timedelta(seconds=30))

        assert len(records(dynamodb)) == 1
        assert len(outcomes.delivered()) == 1


class TestRecordAndMessage:
    def test_the_record_holds_the_whole_story(self, dynamodb: Any, outcomes: Outcomes) -> None:
        reported = run_report(collected_state(), dynamodb, outcomes)

        (item,) = records(dynamodb)
        assert item["outcome"] == {"S": "DUMP_COLLECTED"}
        assert item["instance_id"] == {"S": INSTANCE}
        assert item["seconds_to_interrupt"] == {"N": "42"}
        assert item["seconds_to_recovery"] == {"N": str(int((RECOVERED_AT - SENT_AT).total_seconds()))}
        assert item["expires_at"] == {"N": str(int((FINISHED + timedelta(days=RETENTION_DAYS)).timestamp()))}
        assert item["evidence_errors"] == {"L": [{"S": "screenshot: UnsupportedOperation"}]}
        assert reported.record.artifacts[0].s3_uri == "s3://b/dump/vmcore"

    def test_subscribers_get_a_readable_message_with_filterable_attributes(self, dynamodb: Any,
                                                                          outcomes: Outcomes) -> None:
        run_report(collected_state(), dynamodb, outcomes)

        (message,) = outcomes.delivered()
        assert "DUMP_COLLECTED" in message["Subject"]
        assert "db-primary" in message["Subject"]
        assert "s3://b/dump/vmcore (4096 bytes)" in message["Message"]
        assert "BUG: soft lockup" in message["Message"]
        assert {k: v["Value"] for k, v in message["MessageAttributes"].items()} == {
            "outcome": "DUMP_COLLECTED", "instance_id": INSTANCE, "needs_attention": "false",
            "execution": collected_state().execution.name}

    def test_an_unknown_error_is_recorded_and_notified_as_a_workflow_failure(self, dynamodb: Any,
                                                                            outcomes: Outcomes) -> None:
        state = remediation_state(target=target_part(), error=error("KeyError", "'Reservations'"))

        reported = run_report(state, dynamodb, outcomes)

        (message,) = outcomes.delivered()
        assert reported.record.outcome is Outcome.WORKFLOW_FAILED
        assert outcome_is_failure(reported.record.outcome)
        assert records(dynamodb)[0]["reason"] == {"S": "KeyError: 'Reservations'"}
        assert message["MessageAttributes"]["needs_attention"]["Value"] == "true"
        assert "ACTION REQUIRED" in message["Subject"]

    @pytest.mark.parametrize(("raw", "instance_id", "trigger"), [
        ({"instance_id": "i-XYZ"}, "i-XYZ", "manual"),
        ({"instance_id": "i-0abc; rm -rf /"}, "unknown", "manual"),
        ({"instance_id": "i-XYZ\n"}, "unknown", "manual"),
        ({"detail-type": "CloudWatch Alarm State Change", "detail": {}}, "unknown", "alarm"),
        ("not even an object", "unknown", "manual"),
    ])
    def test_a_rejected_input_is_recorded_under_a_readable_name(self, dynamodb: Any, outcomes: Outcomes, raw: Any,
                                                                instance_id: str, trigger: str) -> None:
        # As the workflow carries it: no raw input in the state, only ResolveTarget's rejection and its excerpt.
        with pytest.raises(InvalidInput) as rejection:
            resolve_target(raw, now=NOW, dry_run_default=False)
        state = remediation_state(error=error("InvalidInput", str(rejection.value)))

        reported = run_report(state, dynamodb, outcomes)

        assert (reported.record.instance_id, reported.record.trigger) == (instance_id, trigger)
        assert reported.record.outcome is Outcome.REJECTED_INVALID_INPUT
        assert records(dynamodb)[0]["pk"] == {"S": f"INSTANCE#{instance_id}"}

    def test_recent_records_come_newest_first_from_the_time_index(self, dynamodb: Any, outcomes: Outcomes) -> None:
        for name, minutes in (("older", 0), ("newer", 30)):
            state = remediation_state(name, target=target_part(requested_at=NOW + timedelta(minutes=minutes)),
                                      error=error("AlreadyHealthy", "ok again"))
            run_report(state, dynamodb, outcomes)
        store = RecordStore(dynamodb, TABLE_NAME)

        assert [r["execution_name"] for r in store.recent(since_iso="2000-01-01")] == ["newer", "older"]
        assert [r["execution_name"] for r in store.recent(since_iso=(NOW + timedelta(minutes=1)).isoformat())] \
            == ["newer"]


class TestGuardsHandedBack:
    def guarded_state(self, dynamodb: Any, **parts: Any) -> tuple[RemediationState, GuardStore]:
        store = GuardStore(dynamodb, TABLE_NAME)
        guard = apply_guards(store, Target.model_validate(target_part()), owner="run-1", now=NOW,
                             cooldown_seconds=3600, rate_limit=5, lock_seconds=7200)
        return remediation_state(target=target_part(), guard=guard.model_dump(mode="json"), **parts), store

    def test_without_an_interrupt_the_lock_and_the_rate_slot_are_released(self, dynamodb: Any,
                                                                          outcomes: Outcomes) -> None:
        state, store = self.guarded_state(dynamodb, error=error("AlreadyHealthy", "instance check ok"))

        run_report(state, dynamodb, outcomes)

        assert store.read_instance(INSTANCE).lock_owner is None
        assert store.recent_interrupts(now=int(FINISHED.timestamp())) == []

    def test_after_an_interrupt_the_slot_stays_counted_and_the_cooldown_holds(self, dynamodb: Any,
                                                                              outcomes: Outcomes) -> None:
        state, store = self.guarded_state(dynamodb, interrupt={"sent": True, "sent_at": SENT_AT.isoformat()},
                                          error=error("NotRecovered", "still impaired"))
        store.mark_interrupted(INSTANCE, at=int(SENT_AT.timestamp()), expires_at=int(SENT_AT.timestamp()) + 90000)

        run_report(state, dynamodb, outcomes)

        assert store.read_instance(INSTANCE).lock_owner is None
        assert store.recent_interrupts(now=int(FINISHED.timestamp())) == [state.guard.rate_slot]  # type: ignore[union-attr]
        with pytest.raises(InCooldown, match="cooldown ends"):
            apply_guards(store, Target.model_validate(target_part()), owner="run-2", now=FINISHED,
                         cooldown_seconds=3600, rate_limit=5, lock_seconds=7200)

    def test_a_send_step_that_broke_unexpectedly_is_treated_as_sent(self, dynamodb: Any,
                                                                    outcomes: Outcomes) -> None:
        state, store = self.guarded_state(dynamodb, impairment={"state": "running", "instance": "impaired"},
                                          error=error("ReadTimeoutError", "EC2 did not answer in time"))

        reported = run_report(state, dynamodb, outcomes)

        assert reported.record.outcome is Outcome.WORKFLOW_FAILED
        assert store.recent_interrupts(now=int(FINISHED.timestamp())) == [state.guard.rate_slot]  # type: ignore[union-attr]
        with pytest.raises(InCooldown, match="cooldown ends"):
            apply_guards(store, Target.model_validate(target_part()), owner="run-2", now=FINISHED,
                         cooldown_seconds=3600, rate_limit=5, lock_seconds=7200)

    def test_a_dry_run_leaves_only_its_record(self, dynamodb: Any, outcomes: Outcomes) -> None:
        state = remediation_state(target=target_part(dry_run=True), guard={"dry_run": True},
                                  interrupt={"sent": False, "permission_checked": True})

        reported = run_report(state, dynamodb, outcomes)

        assert reported.record.outcome is Outcome.DRY_RUN
        assert reported.record.dry_run is True
        assert [item["sk"]["S"][:4] for item in scan_all(dynamodb)] == ["RUN#"]
