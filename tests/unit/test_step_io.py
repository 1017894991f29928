"""The state document every handler parses, the part it returns, and the input models at the edge."""

from __future__ import annotations

import json
from typing import Any

import pytest
from panic_button.errors import MalformedState
from panic_button.handlers.step_io import parse_state, part
from panic_button.models.events import AlarmStateChangeEvent, looks_like_event
from panic_button.models.state import Interrupt

from .support import INSTANCE, NOW, execution_arn, target_part


def document(**parts: Any) -> dict[str, Any]:
    return {"execution": {"id": execution_arn("run-1"), "name": "run-1"}, **parts}


class TestParseState:
    def test_a_state_written_by_the_workflow_parses(self, alarm_event: dict[str, Any]) -> None:
        state = parse_state(document(input=alarm_event, target=target_part(), guard={"dry_run": False}))

        assert state.execution.name == "run-1"
        assert state.require_target().instance_id == INSTANCE
        assert state.input == alarm_event

    def test_results_the_models_do_not_know_are_carried_but_ignored(self) -> None:
        # ConfirmImpaired writes $.impairment; catches write $.triage_error and $.fallback_error.
        state = parse_state(document(target=target_part(), impairment={"state": "running"},
                                     triage_error={"Error": "X"}, fallback_error={"Error": "Y"}))

        assert state.require_target().instance_id == INSTANCE

    @pytest.mark.parametrize("broken", [
        {},
        {"execution": {"name": "run-1"}},
        document(target={**target_part(), "instance_id": "i-nothex!"}),
        document(target={**target_part(), "unexpected": 1}),
        document(interrupt={"sent": "maybe"}),
    ])
    def test_a_malformed_state_is_invalid_input(self, broken: dict[str, Any]) -> None:
        with pytest.raises(MalformedState, match="workflow state is malformed"):
            parse_state(broken)

    @pytest.mark.parametrize(("missing", "accessor"), [
        ("target", "require_target"), ("instance facts", "require_instance"), ("sent interrupt", "require_interrupt"),
    ])
    def test_asking_for_a_part_that_is_not_there_says_which(self, missing: str, accessor: str) -> None:
        with pytest.raises(ValueError, match=f"no {missing}"):
            getattr(parse_state(document()), accessor)()

    def test_an_interrupt_that_was_not_sent_is_not_an_interrupt_to_wait_for(self) -> None:
        with pytest.raises(ValueError, match="no sent interrupt"):
            parse_state(document(interrupt={"sent": False, "permission_checked": True})).require_interrupt()


def test_a_part_is_plain_json_that_parses_back() -> None:
    dumped = part(Interrupt(sent=True, sent_at=NOW))

    assert json.loads(json.dumps(dumped)) == dumped
    assert parse_state(document(interrupt=dumped)).require_interrupt().sent_at == NOW


class TestEdgeModels:
    def test_the_sample_event_parses(self, alarm_event: dict[str, Any]) -> None:
        event = AlarmStateChangeEvent.model_validate(alarm_event)

        assert event.detail.alarm_name == alarm_event["detail"]["alarmName"]
        assert event.detail.state.value == "ALARM"
        assert event.detail.configuration.metrics[0].return_data is True

    @pytest.mark.parametrize(("raw", "expected"), [
        ({"detail-type": "CloudWatch Alarm State Change"}, True),
        ({"instance_id": INSTANCE}, False),
        ("detail-type", False),
        (None, False),
    ])
    def test_an_event_is_recognised_by_its_detail_type(self, raw: Any, expected: bool) -> None:
        assert looks_like_event(raw) is expected
