"""EventBridge as the workflow needs it: rules that start Step Functions executions, TestEventPattern,
and the "CloudWatch Alarm State Change" event that SetAlarmState emits.

Replaced or added: Rule.send_to_targets for `states` and `lambda` targets (stock: NotImplementedError)
and for scheduled rules (stock: their empty pattern matches every event), TestEventPattern (stock:
empty body), SetAlarmState (stock: emits nothing).
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from moto.awslambda.utils import get_backend as lambda_backend
from moto.cloudwatch.responses import CloudWatchResponse
from moto.events.exceptions import ValidationException
from moto.events.models import EventPattern, Rule, events_backends
from moto.events.responses import EventsHandler
from moto.events.utils import EventTemplateParser
from moto.stepfunctions.responses import get_backend as stepfunctions_backend
from moto.utilities.arns import parse_arn

from panic_button_sandbox.alarm_actions import AlarmActionLog, run_alarm_actions
from panic_button_sandbox.alarm_events import alarm_state_change_detail, state_of
from panic_button_sandbox.dead_letters import dead_letter
from panic_button_sandbox.iam.enforcement import IamEnforcement
from panic_button_sandbox.iam.operations import Access
from panic_button_sandbox.patches import Patches

_LOG = logging.getLogger(__name__)
# TestEventPattern requires these fields in the event (EventBridge API reference).
_REQUIRED_EVENT_FIELDS = ("id", "account", "source", "time", "region", "resources", "detail-type")


class ExecutionLedger:
    """Which executions each event started, and which events each alarm emitted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executions: dict[str, list[str]] = {}
        self._alarm_events: dict[str, list[str]] = {}

    def record_execution(self, event_id: str, execution_arn: str) -> None:
        with self._lock:
            self._executions.setdefault(event_id, []).append(execution_arn)

    def executions_started_by(self, event_id: str) -> list[str]:
        with self._lock:
            return list(self._executions.get(event_id, []))

    def record_alarm_event(self, alarm_name: str, event_id: str) -> None:
        with self._lock:
            self._alarm_events.setdefault(alarm_name, []).append(event_id)

    def alarm_events(self, alarm_name: str) -> list[str]:
        with self._lock:
            return list(self._alarm_events.get(alarm_name, []))


def install_event_routing(patches: Patches, ledger: ExecutionLedger, iam: IamEnforcement,
                          alarm_actions: AlarmActionLog) -> None:
    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        if self.scheduled_expression and not self.event_pattern.get_pattern():
            return  # a scheduled rule receives no events
        if not self.event_pattern.matches_event(original_event):
            return
        delivered = _as_delivered(original_event)
        ours = [target for target in self.targets if parse_arn(target["Arn"]).service in ("states", "lambda")]
        others = [target for target in self.targets if target not in ours]
        if others:
            rest = copy.copy(self)
            rest.targets = others
            stock_send_to_targets(rest, original_event, transform_input)
        for target in ours:
            if parse_arn(target["Arn"]).service == "states":
                _start_execution(self, target, delivered, ledger, iam)
            else:
                _invoke_function(self, target, delivered, iam)

    def test_event_pattern(self: EventsHandler) -> str:
        pattern = EventPattern.load(self._get_param("EventPattern"))
        event = json.loads(self._get_param("Event"))
        missing = [name for name in _REQUIRED_EVENT_FIELDS if name not in event]
        if missing:
            raise ValidationException(f"Parameter Event is not valid: missing {', '.join(missing)}.")
        return json.dumps({"Result": pattern.matches_event(event)})

    def set_alarm_state(self: CloudWatchResponse) -> Any:
        alarm = self.cloudwatch_backend.alarms.get(self._get_param("AlarmName"))
        previous = None if alarm is None else state_of(alarm)
        response = stock_set_alarm_state(self)  # validates and raises like AWS
        if alarm is not None and previous is not None and previous["value"] != alarm.state_value:
            _emit_alarm_state_change(self, alarm, previous, ledger)
            run_alarm_actions(alarm, iam, alarm_actions, self.current_account, self.region)
        return response

    stock_send_to_targets = patches.replace(Rule, "send_to_targets", send_to_targets)
    patches.replace(EventsHandler, "test_event_pattern", test_event_pattern)
    stock_set_alarm_state = patches.replace(CloudWatchResponse, "set_alarm_state", set_alarm_state)


def fire_schedule(rule: Rule, at: datetime, ledger: ExecutionLedger, iam: IamEnforcement) -> None:
    """What EventBridge does when a scheduled rule fires: each target receives the "Scheduled Event" whose
    `time` is `at`. The sandbox has no scheduler of its own: a test fires the rule at the moment it wants."""
    if not rule.scheduled_expression:
        raise ValueError(f"rule {rule.name} has no schedule")
    event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
             "account": rule.account_id, "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "region": rule.region_name, "resources": [rule.arn], "detail": {}}
    for target in rule.targets:
        if parse_arn(target["Arn"]).service == "states":
            _start_execution(rule, target, event, ledger, iam)
        else:
            _invoke_function(rule, target, event, iam)


def _as_delivered(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a target receives it: ISO time, no moto bookkeeping fields."""
    delivered = {key: value for key, value in copy.deepcopy(event).items() if key != "ingestion-time"}
    if isinstance(delivered.get("time"), int | float):
        delivered["time"] = datetime.fromtimestamp(delivered["time"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return delivered


def _target_input(target: dict[str, Any], event: Any) -> str:
    if "Input" in target:
        return str(target["Input"])
    if "InputPath" in target:
        return json.dumps(_json_path(event, target["InputPath"]))
    transformer = target.get("InputTransformer")
    if transformer:
        rendered = EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,
        )
        return rendered if isinstance(rendered, str) else json.dumps(rendered)
    return json.dumps(event)  # CDK's SfnStateMachine target passes the whole event


def _json_path(document: Any, path: str) -> Any:
    """The `$.a.b` paths EventBridge's InputPath takes."""
    value = document
    for part in [p for p in path.removeprefix("$").split(".") if p]:
        value = value[part]
    return value


def _start_execution(rule: Rule, target: dict[str, Any], event: dict[str, Any], ledger: ExecutionLedger,
                     iam: IamEnforcement) -> None:
    arn = parse_arn(target["Arn"])
    # EventBridge starts the execution as the target's role; a permission error is not retried.
    role_arn = target.get("RoleArn")
    refused = None if role_arn is None else iam.authorize_role_session(
        role_arn, f"events-{rule.name}"[:64], Access("states:StartExecution", target["Arn"]))
    if role_arn is None or refused is not None:
        message = refused.message() if refused is not None else "the target has no role"
        dead_letter(rule, target, event, iam, code="NO_PERMISSIONS", message=message)
        return
    try:
        execution = stepfunctions_backend(arn.account, arn.region).start_execution(
            target["Arn"], str(uuid.uuid4()), _target_input(target, event)
        )
    except Exception:  # EventBridge never fails PutEvents for a target; it retries, then gives up
        _LOG.exception("rule %s could not start %s", rule.name, target["Arn"])
        return
    ledger.record_execution(event["id"], execution.execution_arn)


def _invoke_function(rule: Rule, target: dict[str, Any], event: dict[str, Any], iam: IamEnforcement) -> None:
    """EventBridge invokes Lambda asynchronously (InvocationType Event), as events.amazonaws.com: the
    function's resource policy must allow it for this rule."""
    arn = parse_arn(target["Arn"])
    policy = iam.state.function_policy(target["Arn"])
    if iam.authorize_service("events.amazonaws.com", Access("lambda:InvokeFunction", target["Arn"], {}, policy or []),
                             [], rule.arn) is not None:
        dead_letter(rule, target, event, iam, code="NO_PERMISSIONS", message="EventBridge may not invoke the function")
        return
    lambda_backend(arn.account, arn.region).invoke(
        target["Arn"], None, _target_input(target, event), {"X-Amz-Invocation-Type": "Event"}, {}
    )


def _emit_alarm_state_change(
    response: CloudWatchResponse, alarm: Any, previous: dict[str, str], ledger: ExecutionLedger
) -> None:
    detail = alarm_state_change_detail(alarm, previous)
    events = events_backends[response.current_account][response.region]
    [entry] = events.put_events(
        [
            {
                "Source": "aws.cloudwatch",
                "DetailType": "CloudWatch Alarm State Change",
                "Detail": json.dumps(detail),
                "Resources": [alarm.alarm_arn],
                "Time": alarm.state_updated_timestamp.replace(tzinfo=UTC).timestamp(),  # moto's clock is naive UTC
            }
        ]
    )
    ledger.record_alarm_event(alarm.name, entry["EventId"])
