"""Canary: stock moto puts no EC2 state-change or tag-change event on the bus (panic_button_sandbox.ec2_events
adds both). If a moto upgrade starts emitting them, this fails: drop or rethink the sandbox's events."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from panic_button_sandbox.sandbox import LINUX_AMI_ID
from panic_button_sandbox.server import LocalAws


@pytest.fixture(scope="module")
def stock() -> Iterator[LocalAws]:
    aws = LocalAws()
    aws.start()
    yield aws
    aws.stop()


def test_stock_ec2_emits_no_state_or_tag_events(stock: LocalAws) -> None:
    sqs, events, ec2 = stock.client("sqs"), stock.client("events"), stock.client("ec2")
    queue_url = sqs.create_queue(QueueName="canary-ec2-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="canary-ec2", EventPattern=json.dumps({"source": ["aws.ec2", "aws.tag"]}))
    events.put_targets(Rule="canary-ec2", Targets=[{"Id": "q", "Arn": queue_arn}])
    [instance] = ec2.run_instances(ImageId=LINUX_AMI_ID, InstanceType="m5.large", MinCount=1, MaxCount=1)["Instances"]
    instance_id = instance["InstanceId"]
    ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "PanicButton", "Value": "enabled"}])
    ec2.delete_tags(Resources=[instance_id], Tags=[{"Key": "PanicButton"}])
    ec2.stop_instances(InstanceIds=[instance_id])
    ec2.start_instances(InstanceIds=[instance_id])
    ec2.terminate_instances(InstanceIds=[instance_id])
    # The rule itself works: an event put by hand arrives, so the silence above is moto's.
    events.put_events(Entries=[{"Source": "aws.ec2", "DetailType": "canary", "Detail": "{}"}])
    [message] = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(message["Body"])["detail-type"] == "canary"
    events.remove_targets(Rule="canary-ec2", Ids=["q"])
