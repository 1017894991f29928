"""Keep exactly one rescue alarm for every running, opted-in instance whose type takes a diagnostic
interrupt, and none for anything else: an alarm that can only start a doomed rescue is noise.

Two entry points share one convergence: `reconcile_fleet` (schedule and "scan") reads the whole fleet
and every alarm with the prefix; `reconcile_instances` (state and tag events) reads only the named
instances and their alarms. API calls grow with pages and with changes, never with unchanged alarms:
  DescribeInstances      ceil(opted-in / 1000) + ceil(extra IDs not opted in / 200)
  DescribeInstanceTypes  ceil(distinct types of the eligible instances / 100); none when none is eligible
  DescribeAlarms         ceil(prefixed alarms / 100) + pages of alarms with EC2 actions (conflicts)
  writes                 1 per create; 2-4 per update; 1 tag check per delete + ceil(deletes / 100)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from panic_button.logic.alarms.changes import ExistingAlarm, create_alarm, delete_alarms, update_alarm
from panic_button.logic.alarms.inventory import (
    describe_instance,
    eligible_instances,
    is_eligible,
    prefixed_alarms,
    racing_alarms,
)
from panic_button.logic.alarms.spec import (
    AlarmSpec,
    Instance,
    build_spec,
    drifted_fields,
    instance_of,
    is_marked_managed,
)
from panic_button.logic.interrupt_support import support_problems
from panic_button.models.alarms import AlarmSettings, ReconcileSummary, SkippedAlarm, UnsupportedInstance


def reconcile_fleet(ec2: Any, cloudwatch: Any, settings: AlarmSettings, *, trigger: str) -> ReconcileSummary:
    eligible = eligible_instances(ec2, settings)
    summary = ReconcileSummary(trigger=trigger, scope="fleet", instances_in_scope=len(eligible))
    specs = {i.instance_id: build_spec(i, settings) for i in _rescuable(ec2, eligible, summary)}
    alarms = prefixed_alarms(cloudwatch, settings.alarm_name_prefix)
    _converge(cloudwatch, settings, specs, alarms, summary, scope=None)
    summary.conflicts = racing_alarms(cloudwatch, specs)
    return summary


def reconcile_instances(ec2: Any, cloudwatch: Any, settings: AlarmSettings, instance_ids: Iterable[str], *,
                        trigger: str) -> ReconcileSummary:
    scope = set(instance_ids)
    eligible: list[Instance] = []
    alarms: list[dict[str, Any]] = []
    for instance_id in sorted(scope):
        instance = describe_instance(ec2, instance_id)
        if instance is not None and is_eligible(instance, settings):
            eligible.append(instance)
        alarms.extend(prefixed_alarms(cloudwatch, f"{settings.alarm_name_prefix}{instance_id}"))
    summary = ReconcileSummary(trigger=trigger, scope="instances", instances_in_scope=len(scope))
    specs = {i.instance_id: build_spec(i, settings) for i in _rescuable(ec2, eligible, summary)}
    _converge(cloudwatch, settings, specs, alarms, summary, scope=scope)
    summary.conflicts = racing_alarms(cloudwatch, specs)
    return summary


def _rescuable(ec2: Any, instances: list[Instance], summary: ReconcileSummary) -> list[Instance]:
    """The instances whose type takes the interrupt. The others go into the summary, once each with the
    reason, and get no spec: so no alarm is created for them, and a managed one left over is deleted."""
    problems = support_problems(ec2, (i.instance_type for i in instances))
    rescuable = []
    for instance in sorted(instances, key=lambda i: i.instance_id):
        problem = problems[instance.instance_type]
        if problem is None:
            rescuable.append(instance)
        else:
            summary.unsupported.append(UnsupportedInstance(
                instance_id=instance.instance_id, instance_type=instance.instance_type, reason=problem))
    return rescuable


def _converge(cloudwatch: Any, settings: AlarmSettings, specs: dict[str, AlarmSpec], alarms: list[dict[str, Any]],
              summary: ReconcileSummary, *, scope: set[str] | None) -> None:
    managed: dict[str, list[dict[str, Any]]] = defaultdict(list)
    names_of_others: set[str] = set()
    for alarm in alarms:
        instance_id = instance_of(alarm)
        if not is_marked_managed(alarm) or instance_id is None:
            names_of_others.add(alarm["AlarmName"])
        elif scope is None or instance_id in scope:
            managed[instance_id].append(alarm)
    obsolete: list[ExistingAlarm] = []
    for instance_id in sorted(specs.keys() | managed.keys()):
        spec, mine = specs.get(instance_id), managed.get(instance_id, [])
        # Renamed (Name tag changed) or no longer wanted: the old alarm goes after the new one exists.
        obsolete += [_existing(a) for a in mine if spec is None or a["AlarmName"] != spec.name]
        if spec is not None:
            current = next((a for a in mine if a["AlarmName"] == spec.name), None)
            _ensure(cloudwatch, settings, spec, current, names_of_others=names_of_others, summary=summary)
    deleted, skipped = delete_alarms(cloudwatch, obsolete)
    summary.deleted += deleted
    summary.skipped += skipped


def _ensure(cloudwatch: Any, settings: AlarmSettings, spec: AlarmSpec, current: dict[str, Any] | None, *,
            names_of_others: set[str], summary: ReconcileSummary) -> None:
    if current is None:
        if spec.name in names_of_others:
            summary.skipped.append(SkippedAlarm(
                alarm_name=spec.name, instance_id=spec.instance_id,
                reason="an alarm without the managed marker already has this name"))
            return
        create_alarm(cloudwatch, spec, settings)
        summary.created.append(spec.name)
        return
    if not drifted_fields(current, spec, settings):
        summary.unchanged += 1
        return
    skipped = update_alarm(cloudwatch, _existing(current), spec, settings)
    if skipped:
        summary.skipped.append(skipped)
    else:
        summary.updated.append(spec.name)


def _existing(alarm: dict[str, Any]) -> ExistingAlarm:
    return ExistingAlarm(name=alarm["AlarmName"], arn=alarm["AlarmArn"], instance_id=instance_of(alarm) or "")
