"""A storm in the sandbox: N hung, opted-in instances whose managed alarms all go to ALARM at once (under an
emulated Lambda concurrency quota if one is given); then the storm summariser's schedule fires once the
window has ended.
What it counts is what issue 12 §3 asks of a storm (the sandbox storm test asserts it, `make bench` prints it)."""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from panic_button.dal.breaker_store import window_start

from panic_button_cli.sandbox_session import open_sandbox
from panic_button_cli.simulation import count_transitions
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.execution_watch import wait_for_executions
from panic_button_sandbox.faults.spec import FaultSpec
from panic_button_sandbox.instances import InstanceSpec
from panic_button_sandbox.sandbox import Sandbox
from tests.topic_subscriber import Topic

SUMMARY_RULE = "StormsSchedule"  # the summariser's schedule (infra/constructs/storm_summaries.py)
REBOOT_SECONDS = 5.0  # the few interrupted instances panic, dump and reboot quickly: the storm is the subject


@dataclass(frozen=True)
class StormFigures:
    alarms: int
    executions_started: int  # by the alarms' events: one each, or an event was lost
    statuses: dict[str, int]
    outcomes: dict[str, int]  # of the records
    records: int
    executions_with_one_record: int
    interrupts: int
    rate_limit: int
    breaker_alarms: int
    skip_reasons: dict[str, int]  # "rate limit" / "breaker" among the SKIPPED_RATE_LIMITED records
    notifications: dict[str, int]  # by the message's outcome attribute (STORM_SUMMARY, BREAKER_TRIPPED, ...)
    alarm_windows: int  # storm windows the alarms' times fell in (two if the storm straddled a boundary)
    summarised_skips: list[str]  # execution names, one entry per summary that lists the execution's instance
    failure_reasons: list[str]  # of WORKFLOW_* records: there should be none
    dead_letters: int
    lambda_throttles: int
    faults_injected: dict[str, int]  # by error code, when the storm ran under a FaultSpec
    lambda_peak_concurrency: int  # invocations in flight at once: the quota the burst would need
    transitions: int
    alarm_seconds: float  # from the first alarm to the last
    wall_seconds: float  # from the first alarm to the last summary


def figures(storm: StormFigures) -> list[tuple[str, float | int]]:
    """The storm's `make bench` lines: what it did, what it cost, and what would show a lost event or record."""
    skipped = storm.outcomes.get("SKIPPED_RATE_LIMITED", 0)
    return [
        ("storm_alarms", storm.alarms),
        ("storm_executions", storm.executions_started),
        ("storm_executions_with_one_record", storm.executions_with_one_record),
        ("storm_records", storm.records),
        ("storm_interrupts", storm.interrupts),
        ("storm_rate_limit", storm.rate_limit),
        ("storm_skipped_rate_limited", skipped),
        ("storm_skipped_by_breaker", storm.skip_reasons.get("breaker", 0)),
        ("storm_skips_summarised", len(set(storm.summarised_skips))),
        ("storm_workflow_failures", len(storm.failure_reasons)),
        ("storm_notifications", sum(storm.notifications.values())),
        ("storm_summaries", storm.notifications.get("STORM_SUMMARY", 0)),
        ("storm_trip_notices", storm.notifications.get("BREAKER_TRIPPED", 0)),
        ("storm_dead_letters", storm.dead_letters),
        ("storm_lambda_throttles", storm.lambda_throttles),
        ("storm_lambda_peak_concurrency", storm.lambda_peak_concurrency),
        ("storm_transitions", storm.transitions),
        ("storm_alarm_seconds", round(storm.alarm_seconds, 1)),
        ("storm_wall_seconds", round(storm.wall_seconds, 1)),
    ]


def run_storm(workdir: Path, cdk_out: Path, *, alarms: int, time_scale: float,
              lambda_concurrency: int | None, faults: FaultSpec | None = None) -> StormFigures:
    # The in-process Lambdas log to stdout; a benchmark's stdout carries only name=value lines.
    with contextlib.redirect_stdout(io.StringIO()), open_sandbox(workdir, cdk_out, time_scale) as (sandbox, deployment):
        return storm(sandbox, deployment, alarms=alarms, lambda_concurrency=lambda_concurrency,
                     faults=faults or FaultSpec())


def storm(sandbox: Sandbox, deployment: Deployment, *, alarms: int, lambda_concurrency: int | None,
          faults: FaultSpec) -> StormFigures:
    """The storm, under `faults` from the first alarm until every execution and the recorder are done (the
    alarms' instances and the summariser's run are calm: the storm's own calls are the subject)."""
    alarm_names = _managed_alarms(sandbox, deployment, alarms)
    subscriber = Topic(sandbox, deployment.outputs["TopicArn"])
    sandbox.limit_lambda_concurrency(lambda_concurrency)
    sandbox.use_faults(faults)
    began = time.monotonic()
    try:
        started = [sandbox.set_alarm_state(name, "ALARM", "Threshold Crossed: storm") for name in alarm_names]
        alarm_seconds = time.monotonic() - began
        arns = [arn for run in started for arn in run]
        finished = wait_for_executions(sandbox.client("stepfunctions"), arns)
        sandbox.wait_for_async_invocations(_async_patience(len(alarm_names)))  # the aborted-run recorder, if any
    finally:
        injected = Counter(fault.code for fault in sandbox.faults.injected)
        sandbox.use_faults(FaultSpec())
    throttles, peak = sandbox.lambda_throttles, sandbox.lambda_peak_concurrency
    sandbox.limit_lambda_concurrency(None)
    config = _function_settings(sandbox, deployment)
    # The schedule fires once the last alarm's window has ended: every window is due.
    sandbox.fire_schedule(SUMMARY_RULE, datetime.now(UTC) + timedelta(seconds=config["BREAKER_WINDOW_SECONDS"] + 1))
    sandbox.wait_for_async_invocations(_async_patience(len(alarm_names)))
    wall_seconds = time.monotonic() - began
    records = _records(sandbox, deployment.outputs["TableName"])
    messages = subscriber.received()
    subscriber.close()
    by_instance = {record["instance_id"]: record["execution_name"] for record in records}
    summaries = [m["Message"] for m in messages if _outcome_of(m) == "STORM_SUMMARY"]
    skipped = [r for r in records if r["outcome"] == "SKIPPED_RATE_LIMITED"]
    return StormFigures(
        alarms=len(alarm_names),
        executions_started=len(arns),
        statuses=dict(Counter(execution["status"] for execution in finished.values())),
        outcomes=dict(Counter(record["outcome"] for record in records)),
        records=len(records),
        executions_with_one_record=sum(1 for count in Counter(r["execution_name"] for r in records).values()
                                       if count == 1),
        interrupts=sum(sandbox.interrupt_count(instance_id) for instance_id in by_instance),
        rate_limit=config["RATE_LIMIT_PER_HOUR"],
        breaker_alarms=config["BREAKER_ALARMS"],
        skip_reasons=dict(Counter("breaker" if "circuit breaker" in r["reason"] else "rate limit" for r in skipped)),
        notifications=dict(Counter(_outcome_of(m) for m in messages)),
        alarm_windows=len({window_start(int(datetime.fromisoformat(r["requested_at"]).timestamp()),
                                        config["BREAKER_WINDOW_SECONDS"]) for r in records}),
        summarised_skips=[by_instance[line.split()[0]] for text in summaries for line in text.splitlines()
                          if line.startswith("  i-")],
        failure_reasons=[r["reason"] for r in records if str(r["outcome"]).startswith("WORKFLOW_")],
        dead_letters=_dead_letters(sandbox, deployment),
        lambda_throttles=throttles,
        faults_injected=dict(injected),
        lambda_peak_concurrency=peak,
        transitions=sum(count_transitions(sandbox, arn) for arn in arns),
        alarm_seconds=alarm_seconds,
        wall_seconds=wall_seconds,
    )


def _async_patience(events: int) -> float:
    """The sandbox's asynchronous invocations of a storm's events queue behind each other: a 500-instance
    launch keeps the alarm manager busy for minutes on a loaded 2-core machine, not the default 30 s."""
    return max(30.0, 2.0 * events)


def _managed_alarms(sandbox: Sandbox, deployment: Deployment, count: int) -> list[str]:
    """Launch `count` hung, opted-in instances; the alarm manager gives each its alarm on the EC2 events."""
    key, value = deployment.outputs["OptInTag"].split("=", 1)
    spec = InstanceSpec(tags={key: value}, reboot_seconds=REBOOT_SECONDS)
    instance_ids = {sandbox.launch_instance(spec).instance_id for _ in range(count)}
    sandbox.wait_for_async_invocations(_async_patience(count))
    paginator = sandbox.client("cloudwatch").get_paginator("describe_alarms")
    names = [alarm["AlarmName"] for page in paginator.paginate(AlarmNamePrefix=deployment.outputs["AlarmNamePrefix"])
             for alarm in page["MetricAlarms"]
             if any(d["Value"] in instance_ids for d in alarm.get("Dimensions", []))]
    if len(names) != count:
        raise RuntimeError(f"the alarm manager made {len(names)} alarms for {count} instances")
    return names


def _function_settings(sandbox: Sandbox, deployment: Deployment) -> dict[str, int]:
    """The storm's limits as the deployed ApplyGuards has them (from cdk.json through the stack)."""
    [name] = [function.function_name for function in deployment.functions
              if function.handler.endswith(".handle_apply_guards.lambda_handler")]
    variables = sandbox.client("lambda").get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    return {key: int(variables[key]) for key in ("RATE_LIMIT_PER_HOUR", "BREAKER_ALARMS", "BREAKER_WINDOW_SECONDS")}


def _records(sandbox: Sandbox, table: str) -> list[dict[str, Any]]:
    deserializer = TypeDeserializer()
    paginator = sandbox.client("dynamodb").get_paginator("scan")
    return [{key: deserializer.deserialize(value) for key, value in item.items()}
            for page in paginator.paginate(TableName=table, ConsistentRead=True,
                                           FilterExpression="begins_with(sk, :run)",
                                           ExpressionAttributeValues={":run": {"S": "RUN#"}})
            for item in page["Items"]]


def _dead_letters(sandbox: Sandbox, deployment: Deployment) -> int:
    sqs = sandbox.client("sqs")
    urls = sqs.list_queues().get("QueueUrls", [])
    return sum(int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
                   ["Attributes"]["ApproximateNumberOfMessages"]) for url in urls if "DeadLetters" in url)


def _outcome_of(message: dict[str, Any]) -> str:
    return str(message.get("MessageAttributes", {}).get("outcome", {}).get("Value", "UNLABELLED"))


STORM_TIME_SCALE = 200.0  # the storm's few rescues wait on reboots and polls; its skips on nothing


def benchmark_storm(alarms: int) -> list[tuple[str, float | int]]:
    """The storm as `make bench` runs it, on the synthesized sandbox assembly: its figures."""
    from bench.rescue_run import ROOT

    with tempfile.TemporaryDirectory(prefix="bench-storm-") as workdir:
        storm = run_storm(Path(workdir), ROOT / "cdk.out" / "sandbox", alarms=alarms,
                          time_scale=STORM_TIME_SCALE, lambda_concurrency=None)
    return figures(storm)


def main() -> None:
    """`python -m bench.storm_run --alarms 500`: the storm alone, as `make bench` runs it."""
    from bench.run_bench import emit

    parser = argparse.ArgumentParser(description="the storm benchmark alone")
    parser.add_argument("--alarms", type=int, default=500)
    for name, value in benchmark_storm(parser.parse_args().alarms):
        emit(name, value)


if __name__ == "__main__":
    main()
