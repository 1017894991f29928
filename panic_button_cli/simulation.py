"""`panic-button simulate`: run triggers against one simulated instance in the sandbox and report, per
trigger, what the workflow did. The JSON shape is a public contract (docs/simulation.md)."""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.execution_watch import StateListener, wait_for_executions
from panic_button_sandbox.instances import InstanceSpec
from panic_button_sandbox.sandbox import Sandbox

INSTANCE_PLACEHOLDER = "${INSTANCE_ID}"
NOT_TRIGGERED = "NOT_TRIGGERED"


class Trigger(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["event", "input"]
    body: dict[str, Any]


class Artifact(BaseModel):
    s3_uri: str
    bytes: int
    sha256: str


class TriggerResult(BaseModel):
    outcome: str
    reason: str
    execution_arn: str | None
    status: str | None
    instance_id: str
    interrupt_sent: bool
    transitions: int
    artifacts: list[Artifact]
    record: dict[str, Any] | None = None


class SimulationReport(BaseModel):
    results: list[TriggerResult]
    interrupts: int
    faults: dict[str, int] = {}  # injected faults by error code (--faults)


def substitute_instance(trigger_text: str, instance_id: str) -> dict[str, Any]:
    return dict(json.loads(trigger_text.replace(INSTANCE_PLACEHOLDER, instance_id)))


def start_triggers(sandbox: Sandbox, deployment: Deployment, instance_id: str,
                   triggers: list[Trigger]) -> list[str | None]:
    """Start every trigger before waiting on any, so triggers for one instance really race."""
    stepfunctions = sandbox.client("stepfunctions")
    started: list[str | None] = []
    for number, trigger in enumerate(triggers, start=1):
        if trigger.kind == "event":
            if not sandbox.rule_matches(trigger.body):
                started.append(None)
                continue
            arns = sandbox.put_event(trigger.body)
            started.append(arns[0] if arns else None)
        else:
            name = f"{instance_id}-sim-{number}-{int(time.time() * 1000) % 10**9}"
            started.append(stepfunctions.start_execution(
                stateMachineArn=deployment.outputs["StateMachineArn"], name=name,
                input=json.dumps(trigger.body))["executionArn"])
    return started


def wait_all(sandbox: Sandbox, arns: list[str | None], *,
             listener: StateListener | None = None) -> dict[str, dict[str, Any]]:
    """Wait for every started execution, reporting each state as it is entered, and for what their endings
    set off: the aborted-run recorder records a stopped, timed-out or failed run asynchronously."""
    finished = wait_for_executions(sandbox.client("stepfunctions"), [arn for arn in arns if arn], listener=listener)
    sandbox.wait_for_async_invocations()
    return finished


def collect_result(sandbox: Sandbox, deployment: Deployment, instance_id: str, arn: str | None,
                   execution: dict[str, Any] | None) -> TriggerResult:
    if arn is None or execution is None:
        return TriggerResult(outcome=NOT_TRIGGERED, reason="the alarm rule's event pattern does not match this event",
                             execution_arn=None, status=None, instance_id=instance_id, interrupt_sent=False,
                             transitions=0, artifacts=[])
    name = arn.rsplit(":", 1)[-1]
    record = find_record(sandbox, deployment.outputs["TableName"], name)
    bucket = deployment.outputs["EvidenceBucketName"]
    recorded_instance = str(record.get("instance_id", instance_id)) if record else instance_id
    return TriggerResult(
        outcome=str(record["outcome"]) if record else "UNRECORDED",
        reason=str(record["reason"]) if record else "no record was written for this execution",
        execution_arn=arn,
        status=execution["status"],
        instance_id=recorded_instance,
        interrupt_sent=bool(record and record.get("interrupt_sent_at")),
        transitions=count_transitions(sandbox, arn),
        artifacts=list_artifacts(sandbox, bucket, f"remediations/{recorded_instance}/{name}/"),
        record=record,
    )


def find_record(sandbox: Sandbox, table: str, execution_name: str) -> dict[str, Any] | None:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    items = sandbox.client("dynamodb").scan(
        TableName=table, FilterExpression="execution_name = :name",
        ExpressionAttributeValues={":name": {"S": execution_name}},
    )["Items"]
    if len(items) > 1:
        raise RuntimeError(f"{execution_name} has {len(items)} records; exactly one is allowed")
    if not items:
        return None
    return {key: _plain(deserializer.deserialize(value)) for key, value in items[0].items()}


def count_transitions(sandbox: Sandbox, arn: str) -> int:
    paginator = sandbox.client("stepfunctions").get_paginator("get_execution_history")
    return sum(1 for page in paginator.paginate(executionArn=arn) for event in page["events"]
               if event["type"].endswith("StateEntered"))


def list_artifacts(sandbox: Sandbox, bucket: str, prefix: str) -> list[Artifact]:
    s3 = sandbox.client("s3")
    artifacts = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            digest = hashlib.sha256()
            for chunk in s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].iter_chunks(1 << 20):
                digest.update(chunk)
            artifacts.append(Artifact(s3_uri=f"s3://{bucket}/{item['Key']}", bytes=item["Size"],
                                      sha256=digest.hexdigest()))
    return artifacts


def simulate(sandbox: Sandbox, deployment: Deployment, spec: InstanceSpec, trigger_texts: list[tuple[str, str]],
             *, listener: StateListener | None = None) -> SimulationReport:
    instance = sandbox.launch_instance(spec)
    triggers = [Trigger(kind="event" if kind == "event" else "input",
                        body=substitute_instance(text, instance.instance_id)) for kind, text in trigger_texts]
    arns = start_triggers(sandbox, deployment, instance.instance_id, triggers)
    finished = wait_all(sandbox, arns, listener=listener)
    results = [collect_result(sandbox, deployment, instance.instance_id, arn, finished.get(arn) if arn else None)
               for arn in arns]
    return SimulationReport(results=results, interrupts=sandbox.interrupt_count(instance.instance_id),
                            faults=dict(Counter(fault.code for fault in sandbox.faults.injected)))


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; JSON wants int or float."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
