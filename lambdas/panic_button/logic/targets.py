"""Step 1: turn an alarm event or a manual request into one validated target instance."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from panic_button.errors import InvalidInput
from panic_button.models.events import AlarmStateChangeEvent, ManualInput, looks_like_event
from panic_button.models.state import ACCOUNT_PATTERN, INSTANCE_ID_PATTERN, REGION_PATTERN, Target

_INSTANCE_ID = re.compile(INSTANCE_ID_PATTERN)
_ACCOUNT = re.compile(ACCOUNT_PATTERN)
_REGION = re.compile(REGION_PATTERN)
ALARM_SOURCE = "aws.cloudwatch"
ALARM_DETAIL_TYPE = "CloudWatch Alarm State Change"
# An alarm event is a few KB, a manual request a few hundred bytes. Anything near Step Functions' 256 KiB
# is not a trigger, and the parts the workflow adds would not fit beside it.
MAX_INPUT_BYTES = 32 * 1024
EXCERPT_CHARACTERS = 200  # what a rejection keeps of the input, in its message (and so in the record)


def validate_instance_id(value: str) -> str:
    # fullmatch: `$` alone would accept a trailing newline, which the Target model then rejects.
    if not isinstance(value, str) or not _INSTANCE_ID.fullmatch(value):
        raise InvalidInput(f"{value!r} is not an instance ID (i- followed by 8 or 17 hex digits)")
    return value


def validate_location(account: str | None, region: str | None) -> tuple[str | None, str | None]:
    """The instance's account and Region for the Target, or InvalidInput for a malformed one."""
    if account is not None and not _ACCOUNT.fullmatch(account):
        raise InvalidInput(f"{account!r} is not an account ID (12 digits)")
    if region is not None and not _REGION.fullmatch(region):
        raise InvalidInput(f"{region!r} is not a Region name")
    return account, region


def resolve_target(raw: Any, *, now: datetime, dry_run_default: bool) -> Target:
    """The target, or InvalidInput whose message ends with a bounded excerpt of the input: the raw input
    is not in the state document, so the excerpt is all the record of a rejection can show of it."""
    text = json.dumps(raw, separators=(",", ":"), ensure_ascii=False, default=str)
    size = len(text.encode())
    try:
        if size > MAX_INPUT_BYTES:
            raise InvalidInput(f"input is over the {MAX_INPUT_BYTES // 1024} KiB a trigger may be")
        return _resolve(raw, now=now, dry_run_default=dry_run_default)
    except InvalidInput as error:
        excerpt = text if len(text) <= EXCERPT_CHARACTERS else text[:EXCERPT_CHARACTERS] + "..."
        raise InvalidInput(f"{error}; the input ({size:,} bytes) began: {excerpt}") from None


def _resolve(raw: Any, *, now: datetime, dry_run_default: bool) -> Target:
    if looks_like_event(raw):
        return _from_alarm_event(raw, now=now, dry_run_default=dry_run_default)
    if isinstance(raw, dict) and "instance_id" in raw:
        return _from_manual_input(raw, now=now, dry_run_default=dry_run_default)
    raise InvalidInput("input is neither a CloudWatch alarm event nor {\"instance_id\": \"i-...\"}")


def _from_manual_input(raw: dict[str, Any], *, now: datetime, dry_run_default: bool) -> Target:
    try:
        request = ManualInput.model_validate(raw)
    except ValidationError as error:
        raise InvalidInput(f"manual input rejected: {_first_problem(error)}") from None
    account, region = validate_location(request.account, request.region)
    return Target(
        instance_id=validate_instance_id(request.instance_id),
        reason=request.reason,
        dry_run=dry_run_default if request.dry_run is None else request.dry_run,
        trigger="manual",
        requested_at=now,
        account=account,
        region=region,
    )


def _from_alarm_event(raw: dict[str, Any], *, now: datetime, dry_run_default: bool) -> Target:
    try:
        event = AlarmStateChangeEvent.model_validate(raw)
    except ValidationError as error:
        raise InvalidInput(f"alarm event rejected: {_first_problem(error)}") from None
    if event.source != ALARM_SOURCE or event.detail_type != ALARM_DETAIL_TYPE:
        raise InvalidInput(f"event {event.source}/{event.detail_type} is not a CloudWatch alarm state change")
    alarm = event.detail
    if alarm.state.value != "ALARM":
        raise InvalidInput(f"alarm {alarm.alarm_name} is in state {alarm.state.value}, not ALARM")
    if alarm.configuration.alarm_rule is not None:
        raise InvalidInput(f"alarm {alarm.alarm_name} is a composite alarm; it names no single instance")
    instance_id = _instance_from_metrics(alarm.alarm_name, event)
    account, region = validate_location(event.account, event.region)
    return Target(
        instance_id=instance_id,
        reason=f"alarm {alarm.alarm_name}: {alarm.state.reason}"[:500],
        dry_run=dry_run_default,
        trigger="alarm",
        alarm_name=alarm.alarm_name,
        requested_at=now,
        account=account,
        region=region,
    )


def _instance_from_metrics(alarm_name: str, event: AlarmStateChangeEvent) -> str:
    # A metric math alarm may carry the dimension on a metric with returnData false: look at all of them.
    found = {
        metric.metric_stat.metric.dimensions["InstanceId"]
        for metric in event.detail.configuration.metrics
        if metric.metric_stat and "InstanceId" in metric.metric_stat.metric.dimensions
    }
    if not found:
        raise InvalidInput(f"alarm {alarm_name} has no InstanceId dimension in its metrics")
    if len(found) > 1:
        raise InvalidInput(f"alarm {alarm_name} names several instances: {', '.join(sorted(found))}")
    return validate_instance_id(found.pop())


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"]) or "input"
    return f"{where}: {problem['msg']}"
