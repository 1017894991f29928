"""Lambda: keep the rescue alarms in step with the fleet, on EC2 state and tag events, on a schedule and
on demand (`{"action": "scan"}`)."""

from __future__ import annotations

from typing import Any, TypeVar

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from panic_button.aws import RETRY_CONFIG, client, member_role_prefix, member_session
from panic_button.errors import InvalidInput
from panic_button.logic.alarm_lifecycle import reconcile_fleet, reconcile_instances
from panic_button.models.alarms import (
    FleetRequest,
    InstanceRequest,
    InstanceStateChangeEvent,
    ManualScan,
    ReconcileSummary,
    ScheduledScan,
    TagChangeEvent,
    get_alarm_settings,
)
from panic_button.observability import logger, metrics

ModelT = TypeVar("ModelT", bound=BaseModel)
# The member account's CloudTrail names this source identity on every alarm change the hub makes there.
ALARM_MANAGER_IDENTITY = "panic-button-alarm-manager"
_METRIC_NAMES = {"created": "AlarmsCreated", "updated": "AlarmsUpdated", "deleted": "AlarmsDeleted",
                 "unchanged": "AlarmsUnchanged", "conflicts": "AlarmConflicts", "skipped": "AlarmsSkipped",
                 "unsupported": "InstancesUnsupported"}


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, request = get_alarm_settings(), parse_request(event)
    ec2, cloudwatch = _clients(member_of(event, context.invoked_function_arn))
    if isinstance(request, FleetRequest):
        summary = reconcile_fleet(ec2, cloudwatch, settings, trigger=request.trigger)
    else:
        summary = reconcile_instances(ec2, cloudwatch, settings, request.instance_ids, trigger=request.trigger)
    report(summary)
    return summary.model_dump(mode="json")


def member_of(event: Any, function_arn: str) -> tuple[str, str] | None:
    """(account, Region) of a member's event forwarded to an organization hub; None for this account's own."""
    if member_role_prefix() is None or not isinstance(event, dict):
        return None
    _, _, _, region, account, *_ = function_arn.split(":")
    where = (str(event.get("account") or account), str(event.get("region") or region))
    return None if where == (account, region) else where


def _clients(member: tuple[str, str] | None) -> tuple[Any, Any]:
    if member is None:
        return client("ec2"), client("cloudwatch")
    session = member_session(*member, source_identity=ALARM_MANAGER_IDENTITY)
    return session.client("ec2", config=RETRY_CONFIG), session.client("cloudwatch", config=RETRY_CONFIG)


def parse_request(event: Any) -> FleetRequest | InstanceRequest:
    if not isinstance(event, dict):
        raise InvalidInput("alarm manager input must be a JSON object")
    if "action" in event:
        _parse(ManualScan, event)
        return FleetRequest(trigger="manual")
    source = event.get("source")
    if source == "aws.events":
        _parse(ScheduledScan, event)
        return FleetRequest(trigger="schedule")
    if source == "aws.ec2":
        state_change = _parse(InstanceStateChangeEvent, event)
        return InstanceRequest(instance_ids=[state_change.detail.instance_id],
                               trigger=f"state:{state_change.detail.state}")
    if source == "aws.tag":
        tag_change = _parse(TagChangeEvent, event)
        if not tag_change.instance_ids:
            raise InvalidInput("tag change event names no instance ARN in resources")
        return InstanceRequest(instance_ids=tag_change.instance_ids, trigger="tags")
    raise InvalidInput(f"unsupported input (source {source!r}); expected an EC2 state or tag change event, "
                       "a scheduled event or {\"action\": \"scan\"}")


def report(summary: ReconcileSummary) -> None:
    """One summary line per run, a warning naming racing alarms, one warning per instance whose type cannot
    be rescued, and one metric per count."""
    counts = summary.counts()
    # Nested: "created" is a LogRecord attribute and cannot be a top-level key.
    logger.info("alarms reconciled", extra={"reconcile": {
        "trigger": summary.trigger, "scope": summary.scope, "instances_in_scope": summary.instances_in_scope,
        "counts": counts, "created_alarms": summary.created, "updated_alarms": summary.updated,
        "deleted_alarms": summary.deleted, "skipped_alarms": [s.model_dump() for s in summary.skipped],
    }})
    if summary.conflicts:
        logger.warning("alarms with reboot/recover/stop/terminate actions race Panic Button on these instances",
                       extra={"conflicts": [c.model_dump() for c in summary.conflicts]})
    for unsupported in summary.unsupported:  # once per instance per run: the summary holds each once
        logger.warning("no rescue alarm: the instance type cannot take a diagnostic interrupt",
                       extra={"unsupported_instance": unsupported.model_dump()})
    for key, name in _METRIC_NAMES.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=counts[key])


def _parse(model: type[ModelT], event: dict[str, Any]) -> ModelT:
    try:
        return model.model_validate(event)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(f"{model.__name__} rejected: {where}: {first['msg']}") from None
