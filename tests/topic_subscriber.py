"""What a subscriber to the outcome topic receives, per execution: for the tests and benchmarks that count
notifications."""

from __future__ import annotations

import json
import time
from typing import Any

from panic_button_sandbox.sandbox import Sandbox


class Topic:
    """An SQS queue subscribed to the outcome topic: what a subscriber receives, per execution."""

    def __init__(self, sandbox: Sandbox, topic_arn: str) -> None:
        self._sqs = sandbox.client("sqs")
        self._url = self._sqs.create_queue(QueueName=f"outcomes-{time.time_ns()}")["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self._subscription = sandbox.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs",
                                                             Endpoint=arn)["SubscriptionArn"]
        self._sns = sandbox.client("sns")
        self._seen: list[dict[str, Any]] = []

    def received(self) -> list[dict[str, Any]]:
        """Every message delivered since the subscription, oldest first."""
        while batch := self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get("Messages"):
            self._seen += [json.loads(message["Body"]) for message in batch]
            self._sqs.delete_message_batch(QueueUrl=self._url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)])
        return list(self._seen)

    def messages_about(self, execution_arn: str) -> list[dict[str, Any]]:
        return [m for m in self.received() if execution_arn in m["Message"]]

    def close(self) -> None:
        self._sns.unsubscribe(SubscriptionArn=self._subscription)
