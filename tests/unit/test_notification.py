"""Step 9c: the one message per remediation. SNS takes a subject of at most 100 ASCII characters with no
line breaks or control characters; whatever the Name tag holds, the subject must stay publishable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from panic_button.logic import notification
from panic_button.models.record import RemediationRecord
from panic_button.models.state import Artifact
from panic_button.outcomes import Outcome

from .support import INSTANCE, NOW, execution_arn


def record(**changes: Any) -> RemediationRecord:
    fields: dict[str, Any] = {
        "instance_id": INSTANCE, "execution_id": execution_arn("run-1"), "execution_name": "run-1",
        "outcome": Outcome.NOT_RECOVERED, "reason": "did not recover within 40 polls", "trigger": "alarm",
        "alarm_name": "panic-button-db", "requested_at": NOW, "finished_at": NOW + timedelta(minutes=25),
    }
    return RemediationRecord(**{**fields, **changes})


def publishable(subject: str) -> bool:
    return len(subject) <= 100 and subject.isascii() and subject.isprintable()


class TestSubject:
    def test_a_short_subject_names_outcome_instance_name_and_headline(self) -> None:
        subject = notification.subject(record(outcome=Outcome.DUMP_COLLECTED, instance_name="db-primary"))

        assert publishable(subject)
        assert "DUMP_COLLECTED" in subject
        assert f"{INSTANCE} (db-primary)" in subject
        assert subject.endswith(notification.headline(Outcome.DUMP_COLLECTED))

    def test_a_long_name_is_cut_with_an_ellipsis(self) -> None:
        subject = notification.subject(record(instance_name="n" * 300))

        assert publishable(subject)
        assert len(subject) <= 100
        assert "nnn..." in subject
        assert INSTANCE in subject
        assert subject.endswith(notification.headline(record().outcome))

    def test_action_required_survives_a_long_name(self) -> None:
        long = record(instance_name="n" * 300).model_copy(update={"outcome": Outcome.NOT_RECOVERED})
        assert notification.subject(long).endswith("ACTION REQUIRED: instance did not recover")

    def test_the_culprit_leads_the_subject_and_gives_way_at_the_limit(self) -> None:
        culprit = "3 tasks blocked in percpu_rwsem_wait <- __percpu_down_read <- mnt_want_write (filesystem frozen?)"
        subject = notification.subject(record(outcome=Outcome.DUMP_COLLECTED, instance_name="db-primary",
                                              culprit=culprit))

        assert publishable(subject)
        assert subject.startswith(f"[Panic Button] DUMP_COLLECTED {INSTANCE}: 3 tasks blocked in percpu_rwsem_wait")
        assert subject.endswith("...")

    @pytest.mark.parametrize("name", [
        "数据库-主节点", "café ☕ server", "🔥" * 60, "line\nbreak", "carriage\rreturn", "tab\there", "nul\x00byte",
        "bell\x07", "del\x7f", "next-line\u0085", "\uff26\uff35\uff2c\uff2c",
    ])
    def test_any_name_tag_gives_a_publishable_subject(self, name: str) -> None:
        assert publishable(notification.subject(record(instance_name=name)))

    @pytest.mark.parametrize("outcome", list(Outcome))
    def test_every_outcome_has_a_publishable_subject_and_a_headline(self, outcome: Outcome) -> None:
        subject = notification.subject(record(outcome=outcome, instance_name="x" * 128))

        assert publishable(subject)
        assert outcome.value in subject
        assert notification.headline(outcome)

    def test_outcomes_that_page_a_human_say_so(self) -> None:
        for outcome in Outcome:
            assert ("ACTION REQUIRED" in notification.headline(outcome)) is outcome.needs_attention


class TestBody:
    def test_the_body_tells_the_whole_story(self) -> None:
        body = notification.body(record(
            outcome=Outcome.DUMP_COLLECTED, reason="crash dump collected and verified", instance_name="db-primary",
            instance_type="m5.large", platform="linux", interrupt_sent_at=NOW + timedelta(seconds=42),
            seconds_to_interrupt=42, recovered_at=NOW + timedelta(minutes=4), seconds_to_recovery=198,
            triage_summary=["BUG: soft lockup - CPU#1 stuck for 22s"],
            artifacts=[Artifact(s3_uri="s3://b/dump/vmcore", bytes=4096)],
            evidence=["s3://b/console-output.txt"], evidence_errors=["screenshot: UnsupportedOperation"],
        ), console_url="https://console/execution")

        for expected in ("DUMP_COLLECTED", "crash dump collected and verified", "db-primary", "m5.large, linux",
                         "panic-button-db", "+42s", "198s after the interrupt", "BUG: soft lockup",
                         "s3://b/dump/vmcore (4096 bytes)", "s3://b/console-output.txt",
                         "screenshot: UnsupportedOperation", "https://console/execution"):
            assert expected in body

    def test_a_dry_run_is_marked_and_optional_sections_are_left_out(self) -> None:
        body = notification.body(record(outcome=Outcome.DRY_RUN, dry_run=True, trigger="manual", alarm_name=None),
                                 console_url="u")

        assert "Trigger:   manual [dry run]" in body
        for absent in ("Interrupt:", "Recovered:", "Triage:", "Artifacts:", "Evidence", "Fallback:"):
            assert absent not in body

    def test_the_culprit_line_comes_right_after_the_outcome(self) -> None:
        culprit = "3 tasks blocked in percpu_rwsem_wait <- __percpu_down_read <- mnt_want_write (filesystem frozen?)"
        lines = notification.body(record(culprit=culprit), console_url="u").splitlines()

        assert lines[1] == f"Culprit:   {culprit}"
        assert "Culprit:" not in notification.body(record(), console_url="u")

    def test_a_fallback_is_reported(self) -> None:
        body = notification.body(record(fallback="reboot requested"), console_url="u")

        assert "Fallback:  reboot requested" in body


@pytest.mark.parametrize(("arn", "region"), [
    (execution_arn("run-1"), "us-east-1"),
    ("arn:aws:states:eu-west-3:123456789012:execution:sm:run-1", "eu-west-3"),
    ("not-an-arn", "us-east-1"),
])
def test_the_console_link_opens_the_execution_in_its_region(arn: str, region: str) -> None:
    url = notification.console_url(arn)

    assert url.startswith(f"https://{region}.console.aws.amazon.com/states/home?region={region}#")
    assert url.endswith(arn)
