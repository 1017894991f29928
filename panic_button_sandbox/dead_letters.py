"""EventBridge's dead-letter queue for a target it could not reach: as events.amazonaws.com, the queue policy
and the queue's key policy must allow it (with the rule as aws:SourceArn), or the event is lost."""

from __future__ import annotations

import json
import logging
from typing import Any

from moto.events.models import Rule
from moto.sqs.models import sqs_backends
from moto.utilities.arns import parse_arn

from panic_button_sandbox.iam.enforcement import IamEnforcement
from panic_button_sandbox.iam.operations import Access, KmsUse

_LOG = logging.getLogger(__name__)


def dead_letter(rule: Rule, target: dict[str, Any], event: dict[str, Any], iam: IamEnforcement, *, code: str,
                message: str) -> None:
    """Send `event` to the target's dead-letter queue with the attributes EventBridge adds; log if it has none
    or may not use it."""
    queue_arn = target.get("DeadLetterConfig", {}).get("Arn")
    if not queue_arn:
        _LOG.warning("rule %s: event %s lost, target %s failed (%s) and has no dead-letter queue", rule.name,
                     event.get("id"), target["Arn"], code)
        return
    arn = parse_arn(queue_arn)
    policy, key = iam.state.queue(arn.resource_id)
    kms = [KmsUse(key, ("kms:GenerateDataKey", "kms:Decrypt"), {"aws:sqs:arn": queue_arn},
                  f"sqs.{arn.region}.amazonaws.com")] if key else []
    if iam.authorize_service("events.amazonaws.com", Access("sqs:SendMessage", queue_arn, {}, policy or []), kms,
                             rule.arn) is not None:
        _LOG.warning("rule %s: event %s lost, EventBridge may not send it to %s", rule.name, event.get("id"),
                     queue_arn)
        return
    attributes = {"RULE_ARN": rule.arn, "TARGET_ARN": target["Arn"], "ERROR_CODE": code, "ERROR_MESSAGE": message}
    sqs_backends[arn.account][arn.region].send_message(
        arn.resource_id, json.dumps(event),
        message_attributes={name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()},
    )
