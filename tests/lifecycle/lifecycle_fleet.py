"""The alarm lifecycle as an operator drives it: EC2 calls on the sandbox, then the alarms they lead to."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.instances import InstanceSpec
from panic_button_sandbox.sandbox import Sandbox


@dataclass(frozen=True)
class LifecycleFleet:
    sandbox: Sandbox
    deployment: Deployment

    @property
    def prefix(self) -> str:
        return self.deployment.outputs["AlarmNamePrefix"]

    @property
    def opt_in(self) -> dict[str, str]:
        key, value = self.deployment.outputs["OptInTag"].split("=", 1)
        return {key: value}

    def launch(self, tags: dict[str, str]) -> str:
        """A simulated (hung) instance, running, with these tags; returns once the manager has seen it."""
        instance_id = self.sandbox.launch_instance(InstanceSpec(tags=tags)).instance_id
        self.settle()
        return instance_id

    def tag(self, instance_id: str, tags: dict[str, str]) -> None:
        self._ec2.create_tags(Resources=[instance_id], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        self.settle()

    def untag(self, instance_id: str, *keys: str) -> None:
        self._ec2.delete_tags(Resources=[instance_id], Tags=[{"Key": key} for key in keys])
        self.settle()

    def stop(self, instance_id: str) -> None:
        self._ec2.stop_instances(InstanceIds=[instance_id])
        self.settle()

    def start(self, instance_id: str) -> None:
        self._ec2.start_instances(InstanceIds=[instance_id])
        self.settle()

    def terminate(self, instance_id: str) -> None:
        self._ec2.terminate_instances(InstanceIds=[instance_id])
        self.settle()

    def settle(self) -> None:
        """Wait for the Lambdas EventBridge invoked (asynchronously, as on AWS) to return."""
        self.sandbox.wait_for_async_invocations()

    def alarms_on(self, instance_id: str) -> dict[str, dict[str, Any]]:
        """Every metric alarm, of any name, on this instance's metrics."""
        pages = self._cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"])
        return {alarm["AlarmName"]: alarm for page in pages for alarm in page["MetricAlarms"]
                if {"Name": "InstanceId", "Value": instance_id} in alarm.get("Dimensions", [])}

    def alarm_tags(self, alarm: dict[str, Any]) -> dict[str, str]:
        listed = self._cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
        return {tag["Key"]: tag["Value"] for tag in listed}

    def scan(self) -> dict[str, Any]:
        """Invoke the alarm manager the way an operator does; returns its summary."""
        self.settle()
        response = self.sandbox.client("lambda").invoke(
            FunctionName=self.deployment.outputs["AlarmManagerFunctionName"], Payload=json.dumps({"action": "scan"}))
        summary: dict[str, Any] = json.loads(response["Payload"].read())
        if "FunctionError" in response:
            raise AssertionError(f"the scan failed: {summary}")
        return summary

    def rule_name(self, logical_id_prefix: str) -> str:
        [rule] = [r for r in self.deployment.of_type("AWS::Events::Rule") if r.logical_id.startswith(logical_id_prefix)]
        return rule.physical_id

    @contextmanager
    def captured_events(self, *sources: str) -> Iterator[list[dict[str, Any]]]:
        """The events these sources put on the default bus while the block runs, as a rule's target gets them."""
        sqs, events = self.sandbox.client("sqs"), self.sandbox.client("events")
        name = f"capture-{uuid.uuid4().hex[:8]}"
        queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventPattern=json.dumps({"source": list(sources)}))
        events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
        captured: list[dict[str, Any]] = []
        try:
            yield captured
        finally:
            events.remove_targets(Rule=name, Ids=["queue"])
            events.delete_rule(Name=name)
        while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            captured.extend(json.loads(message["Body"]) for message in messages)
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)])

    @property
    def _ec2(self) -> Any:
        return self.sandbox.client("ec2")

    @property
    def _cloudwatch(self) -> Any:
        return self.sandbox.client("cloudwatch")
