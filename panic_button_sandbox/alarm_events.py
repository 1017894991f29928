"""The "CloudWatch Alarm State Change" event, shaped like tests/sample_events/alarm-state-change-statuscheck.json."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def state_of(alarm: Any) -> dict[str, str]:
    """An alarm's current state in the event's `state`/`previousState` shape."""
    state = {
        "reason": alarm.state_reason,
        "timestamp": _event_timestamp(alarm.state_updated_timestamp),
        "value": alarm.state_value,
    }
    if alarm.state_reason_data and alarm.state_reason_data != "{}":
        state["reasonData"] = alarm.state_reason_data
    return state


def alarm_state_change_detail(alarm: Any, previous: dict[str, str]) -> dict[str, Any]:
    configuration: dict[str, Any] = {"metrics": _metrics(alarm)}
    if alarm.description:
        configuration["description"] = alarm.description
    return {
        "alarmName": alarm.name,
        "configuration": configuration,
        "previousState": previous,
        "state": state_of(alarm),
    }


def _metrics(alarm: Any) -> list[dict[str, Any]]:
    if alarm.metric_data_queries:
        return [_query(query) for query in alarm.metric_data_queries]
    if not alarm.metric_name:
        return []  # composite alarms carry no metrics
    stat = {
        "metric": _metric(alarm.metric_name, alarm.namespace, alarm.dimensions),
        "period": int(alarm.period),
        "stat": alarm.statistic or alarm.extended_statistic,
    }
    return [{"id": "m1", "metricStat": stat, "returnData": True}]


def _query(query: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": query.id, "returnData": _as_bool(query.return_data)}
    if query.expression:
        entry["expression"] = query.expression
    if query.label:
        entry["label"] = query.label
    if query.metric_stat is not None:
        stat = query.metric_stat
        metric = stat.metric
        entry["metricStat"] = {
            "metric": _metric(metric.metric_name, metric.namespace, metric.dimensions),
            "period": int(stat.period),
            "stat": stat.stat,
        }
    return entry


def _metric(name: str, namespace: str, dimensions: list[Any]) -> dict[str, Any]:
    return {"dimensions": {d.name: d.value for d in dimensions}, "name": name, "namespace": namespace}


def _as_bool(value: Any) -> bool:
    if value is None:
        return True  # ReturnData defaults to true
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def _event_timestamp(moment: datetime) -> str:
    """`2026-11-20T03:12:40.885+0000`: milliseconds and a +0000 offset, as CloudWatch writes them."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{aware.microsecond // 1000:03d}+0000"
