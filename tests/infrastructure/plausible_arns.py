"""Resolve CloudFormation intrinsics to the strings CloudFormation would produce in one made-up account,
so a policy linter sees real ARNs (and checks them against each action's resource types) instead of
`{"Fn::GetAtt": ...}` objects. Physical names are the logical IDs in lower case. An intrinsic or a
resource type it does not know is an error, not a guess."""

from __future__ import annotations

import re
from typing import Any

PARTITION, REGION, ACCOUNT = "aws", "us-east-1", "123456789012"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
PSEUDO_PARAMETERS = {
    "AWS::Partition": PARTITION,
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "PanicButton",
}

_REGIONAL = f"arn:{PARTITION}:{{service}}:{REGION}:{ACCOUNT}:"
# Per resource type: what Ref returns, and what each Fn::GetAtt attribute returns ({name} = physical name).
_VALUES: dict[str, tuple[str, dict[str, str]]] = {
    "AWS::S3::Bucket": ("{name}", {"Arn": f"arn:{PARTITION}:s3:::{{name}}"}),
    "AWS::KMS::Key": (KEY_ID, {"Arn": _REGIONAL.format(service="kms") + f"key/{KEY_ID}", "KeyId": KEY_ID}),
    "AWS::DynamoDB::Table": ("{name}", {"Arn": _REGIONAL.format(service="dynamodb") + "table/{name}"}),
    "AWS::SNS::Topic": (_REGIONAL.format(service="sns") + "{name}",
                        {"TopicArn": _REGIONAL.format(service="sns") + "{name}", "TopicName": "{name}"}),
    "AWS::SQS::Queue": (f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{{name}}",
                        {"Arn": _REGIONAL.format(service="sqs") + "{name}", "QueueName": "{name}"}),
    "AWS::Lambda::Function": ("{name}", {"Arn": _REGIONAL.format(service="lambda") + "function:{name}"}),
    # A log group's Arn attribute ends in ":*" (it is the log-stream pattern), as CloudFormation documents.
    "AWS::Logs::LogGroup": ("{name}", {"Arn": _REGIONAL.format(service="logs") + "log-group:{name}:*"}),
    "AWS::StepFunctions::StateMachine": (_REGIONAL.format(service="states") + "stateMachine:{name}",
                                         {"Arn": _REGIONAL.format(service="states") + "stateMachine:{name}",
                                          "Name": "{name}"}),
    "AWS::SSM::Document": ("{name}", {}),
    "AWS::Events::Rule": ("{name}", {"Arn": _REGIONAL.format(service="events") + "rule/{name}"}),
    "AWS::IAM::Role": ("{name}", {"Arn": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{{name}}"}),
    "AWS::CloudWatch::Alarm": ("{name}", {"Arn": _REGIONAL.format(service="cloudwatch") + "alarm:{name}"}),
    "AWS::Events::EventBus": ("{name}", {"Arn": _REGIONAL.format(service="events") + "event-bus/{name}",
                                         "Name": "{name}"}),
}
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")

Resources = dict[str, dict[str, Any]]


def resolve(value: Any, resources: Resources) -> Any:
    """`value` with every intrinsic replaced by its plausible result; other structure unchanged."""
    if isinstance(value, list):
        return [resolve(item, resources) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (function, argument), = value.items()
        if function == "Ref" or function.startswith("Fn::"):
            return _intrinsic(function, argument, resources)
    return {key: resolve(item, resources) for key, item in value.items()}


def ref(name: str, resources: Resources) -> str:
    if name in PSEUDO_PARAMETERS:
        return PSEUDO_PARAMETERS[name]
    ref_value, _ = _values_of(name, resources)
    return ref_value.format(name=name.lower())


def get_att(logical_id: str, attribute: str, resources: Resources) -> str:
    _, attributes = _values_of(logical_id, resources)
    if attribute not in attributes:
        raise ValueError(f"no plausible value for {logical_id}.{attribute}")
    return attributes[attribute].format(name=logical_id.lower())


def _intrinsic(function: str, argument: Any, resources: Resources) -> str:
    if function == "Ref":
        return ref(str(argument), resources)
    if function == "Fn::GetAtt":
        logical_id, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
        return get_att(logical_id, attribute, resources)
    if function == "Fn::Join":
        separator, parts = argument
        return str(separator).join(str(resolve(part, resources)) for part in parts)
    if function == "Fn::Sub":
        return _sub(argument, resources)
    raise ValueError(f"cannot resolve {function}: {argument!r}")


def _values_of(logical_id: str, resources: Resources) -> tuple[str, dict[str, str]]:
    if logical_id not in resources:
        raise ValueError(f"Ref to unknown resource or parameter {logical_id!r}")
    resource_type = resources[logical_id]["Type"]
    if resource_type not in _VALUES:
        raise ValueError(f"no plausible values for {resource_type} ({logical_id})")
    return _VALUES[resource_type]


def _sub(argument: Any, resources: Resources) -> str:
    template, variables = (argument, {}) if isinstance(argument, str) else argument
    values = {name: str(resolve(value, resources)) for name, value in variables.items()}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return get_att(logical_id, attribute, resources)
        return ref(name, resources)

    # `${!Literal}` is how Fn::Sub writes a literal `${Literal}`.
    return _SUB_VARIABLE.sub(substitute, str(template)).replace("${!", "${")
