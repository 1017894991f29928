"""EC2 through the sandbox puts the events AWS puts on the default bus: state changes and tag changes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from panic_button_sandbox import InstanceSpec, Sandbox
from panic_button_sandbox.server import ACCOUNT_ID, REGION

Captured = Callable[[str], list[dict[str, Any]]]


@pytest.fixture
def events_about(sandbox: Sandbox) -> Iterator[Captured]:
    """A rule that copies every aws.ec2 and aws.tag event to a queue; the function reads one instance's."""
    sqs, events = sandbox.client("sqs"), sandbox.client("events")
    name = f"capture-{uuid.uuid4().hex[:8]}"
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["aws.ec2", "aws.tag"]}))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    received: list[dict[str, Any]] = []

    def read(instance_id: str) -> list[dict[str, Any]]:
        while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            received.extend(json.loads(message["Body"]) for message in messages)
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)])
        return [event for event in received if event["resources"] == [_arn(instance_id)]]

    yield read
    events.remove_targets(Rule=name, Ids=["queue"])
    events.delete_rule(Name=name)


def _arn(instance_id: str) -> str:
    return f"arn:aws:ec2:{REGION}:{ACCOUNT_ID}:instance/{instance_id}"


def _states(events: list[dict[str, Any]]) -> list[str]:
    return [e["detail"]["state"] for e in events if e["detail-type"] == "EC2 Instance State-change Notification"]


def test_launch_reports_pending_then_running(sandbox: Sandbox, events_about: Captured) -> None:
    instance_id = sandbox.launch_instance(InstanceSpec(tags={})).instance_id
    events = events_about(instance_id)
    assert _states(events) == ["pending", "running"]
    assert {e["source"] for e in events} == {"aws.ec2"}
    assert events[-1]["detail"] == {"instance-id": instance_id, "state": "running"}


def test_stop_start_and_terminate_report_each_transition(sandbox: Sandbox, events_about: Captured) -> None:
    ec2 = sandbox.client("ec2")
    instance_id = sandbox.launch_instance(InstanceSpec(tags={})).instance_id
    ec2.stop_instances(InstanceIds=[instance_id])
    ec2.stop_instances(InstanceIds=[instance_id])  # already stopped: no change, no event
    ec2.start_instances(InstanceIds=[instance_id])
    ec2.terminate_instances(InstanceIds=[instance_id])
    assert _states(events_about(instance_id)) == [
        "pending", "running", "stopping", "stopped", "pending", "running", "shutting-down", "terminated"]


def test_a_rejected_call_reports_nothing(sandbox: Sandbox, events_about: Captured) -> None:
    ec2 = sandbox.client("ec2")
    instance_id = sandbox.launch_instance(InstanceSpec(tags={})).instance_id
    for call in (lambda: ec2.stop_instances(InstanceIds=[instance_id], DryRun=True),
                 lambda: ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "a", "Value": "b"}], DryRun=True)):
        with pytest.raises(ClientError, match="DryRunOperation"):
            call()
    assert _states(events_about(instance_id)) == ["pending", "running"]
    assert len(events_about(instance_id)) == 2


def test_tag_changes_carry_the_changed_keys_and_the_whole_new_tag_set(sandbox: Sandbox,
                                                                         events_about: Captured) -> None:
    ec2 = sandbox.client("ec2")
    instance_id = sandbox.launch_instance(InstanceSpec(tags={"Name": "web", "team": "blue"})).instance_id
    ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "PanicButton", "Value": "enabled"},
                                                   {"Key": "team", "Value": "green"}])
    ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "Name", "Value": "web"}])  # same value: no change
    ec2.delete_tags(Resources=[instance_id], Tags=[{"Key": "PanicButton"}])
    tag_events = [e for e in events_about(instance_id) if e["detail-type"] == "Tag Change on Resource"]
    assert [(e["source"], e["resources"]) for e in tag_events] == [("aws.tag", [_arn(instance_id)])] * 2
    assert [e["detail"] for e in tag_events] == [
        {"changed-tag-keys": ["PanicButton", "team"], "service": "ec2", "resource-type": "instance", "version": 1,
         "tags": {"Name": "web", "team": "green", "PanicButton": "enabled"}},
        {"changed-tag-keys": ["PanicButton"], "service": "ec2", "resource-type": "instance", "version": 2,
         "tags": {"Name": "web", "team": "green"}},
    ]


def test_one_call_on_two_instances_reports_each_and_other_resources_none(sandbox: Sandbox,
                                                                         events_about: Captured) -> None:
    ec2 = sandbox.client("ec2")
    first, second = (sandbox.launch_instance(InstanceSpec(tags={})).instance_id for _ in range(2))
    group_id = ec2.create_security_group(GroupName=f"g-{uuid.uuid4().hex[:6]}", Description="d")["GroupId"]
    ec2.create_tags(Resources=[first, second, group_id], Tags=[{"Key": "PanicButton", "Value": "enabled"}])
    for instance_id in (first, second):
        [tag_event] = [e for e in events_about(instance_id) if e["source"] == "aws.tag"]
        assert tag_event["detail"]["tags"] == {"PanicButton": "enabled"}
    assert events_about(group_id) == []
