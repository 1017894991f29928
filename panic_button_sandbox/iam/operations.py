"""From one SDK call to what IAM authorizes: the actions, the resource ARNs, the request context, and the
KMS key uses the call implies (Service Authorization Reference, and each service's KMS docs).

An operation not listed here is authorized as `<prefix>:<OperationName>` on `*`, which is IAM's own
naming for most APIs. The listed ones are those whose action or resource differs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from panic_button_sandbox.iam.emulator_state import EmulatorState
from panic_button_sandbox.iam.policies import Statement

Context = dict[str, list[str]]


@dataclass(frozen=True)
class Access:
    """One action on one resource; every Access of a call must be allowed."""

    action: str
    resource: str
    context: Context = field(default_factory=dict)
    resource_policy: list[Statement] | None = None


@dataclass(frozen=True)
class KmsUse:
    """A KMS call a service makes with the caller's permissions (key policy and identity both count)."""

    key_id: str
    actions: tuple[str, ...]
    encryption_context: Mapping[str, str]
    via_service: str


@dataclass
class Authorization:
    accesses: list[Access]
    kms: list[KmsUse] = field(default_factory=list)
    object_read: tuple[str, str] | None = None  # (bucket, key): a missing key answers per s3:ListBucket


@dataclass(frozen=True)
class Call:
    service: str  # botocore's service name (s3, ec2, cloudwatch, ...)
    operation: str
    params: Mapping[str, Any]
    account: str
    region: str
    secure_transport: bool  # the Lambdas reach AWS over HTTPS (see docs/architecture.md)

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account if account else ''}:{resource}"

    def base_context(self) -> Context:
        return {"aws:securetransport": [str(self.secure_transport).lower()],
                "aws:requestedregion": [self.region], "aws:principalaccount": [self.account]}


Builder = Callable[[Call, EmulatorState], Authorization]
# botocore's service name -> IAM's action prefix, where they differ.
_PREFIX = {"monitoring": "cloudwatch", "stepfunctions": "states"}
_BUILDERS: dict[tuple[str, str], Builder] = {}


def authorization_for(call: Call, state: EmulatorState) -> Authorization:
    builder = _BUILDERS.get((call.service, call.operation))
    if builder is not None:
        return builder(call, state)
    return Authorization([Access(f"{iam_prefix(call.service)}:{call.operation}", "*", call.base_context())])


def iam_prefix(service: str) -> str:
    return _PREFIX.get(service, service)


def _builds(service: str, *operations: str) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        for operation in operations:
            _BUILDERS[(service, operation)] = builder
        return builder

    return register


def _with_tags(context: Context, tags: Mapping[str, str], *prefixes: str) -> Context:
    merged = dict(context)
    for prefix in prefixes:
        for key, value in tags.items():
            merged[f"{prefix}/{key}".lower()] = [value]
    return merged


# --- EC2: instance actions are authorized per instance, with the instance's tags -------------------------
_EC2_INSTANCE_ACTIONS = {"SendDiagnosticInterrupt", "GetConsoleOutput", "GetConsoleScreenshot", "RebootInstances",
                         "StopInstances", "StartInstances", "TerminateInstances"}


@_builds("ec2", *_EC2_INSTANCE_ACTIONS)
def _ec2_instances(call: Call, state: EmulatorState) -> Authorization:
    ids = call.params.get("InstanceIds") or [call.params["InstanceId"]]
    accesses = []
    for instance_id in ids:
        tags = state.instance_tags(instance_id) or {}
        context = _with_tags(call.base_context(), tags, "aws:resourcetag", "ec2:resourcetag")
        accesses.append(Access(f"ec2:{call.operation}", call.arn("ec2", f"instance/{instance_id}"), context))
    return Authorization(accesses)


# --- SSM: SendCommand needs the document and every target instance -------------------------------------
@_builds("ssm", "SendCommand")
def _ssm_send_command(call: Call, state: EmulatorState) -> Authorization:
    document = str(call.params["DocumentName"])
    document_arn = document if document.startswith("arn:") else call.arn("ssm", f"document/{document}")
    accesses = [Access("ssm:SendCommand", document_arn, call.base_context())]
    for instance_id in call.params.get("InstanceIds", []):
        tags = state.instance_tags(instance_id) or {}
        context = _with_tags(call.base_context(), tags, "ssm:resourcetag", "aws:resourcetag")
        accesses.append(Access("ssm:SendCommand", call.arn("ec2", f"instance/{instance_id}"), context))
    return Authorization(accesses)


# --- Step Functions: execution calls name the execution, machine calls the state machine -------------------
_SFN_EXECUTION_ACTIONS = {"DescribeExecution", "GetExecutionHistory", "StopExecution"}


@_builds("stepfunctions", *_SFN_EXECUTION_ACTIONS, "StartExecution", "DescribeStateMachine", "ListExecutions")
def _stepfunctions(call: Call, state: EmulatorState) -> Authorization:
    arn = str(call.params.get("executionArn") or call.params.get("stateMachineArn") or "*")
    return Authorization([Access(f"states:{call.operation}", arn, call.base_context())])


# --- DynamoDB: the table (or index) ARN; a customer managed key is used with the caller's rights ---------
@_builds("dynamodb", "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "DescribeTable")
def _dynamodb_table(call: Call, state: EmulatorState) -> Authorization:
    table = str(call.params["TableName"])
    resource = call.arn("dynamodb", f"table/{table}")
    if call.params.get("IndexName"):
        resource = f"{resource}/index/{call.params['IndexName']}"
    kms = []
    key = state.table_kms_key(table)
    if key and call.operation != "DescribeTable":
        kms.append(KmsUse(key, ("kms:Decrypt",), {"aws:dynamodb:tableName": table},
                          f"dynamodb.{call.region}.amazonaws.com"))
    return Authorization([Access(f"dynamodb:{call.operation}", resource, call.base_context())], kms)


# --- SNS: the topic, its policy and its key ------------------------------------------------------------
@_builds("sns", "Publish")
def _sns_publish(call: Call, state: EmulatorState) -> Authorization:
    topic_arn = str(call.params.get("TopicArn") or call.params.get("TargetArn"))
    policy, key = state.topic(topic_arn)
    kms = [KmsUse(key, ("kms:GenerateDataKey", "kms:Decrypt"), {"aws:sns:topicArn": topic_arn},
                  f"sns.{call.region}.amazonaws.com")] if key else []
    return Authorization([Access("sns:Publish", topic_arn, call.base_context(), policy)], kms)


# --- Lambda: Invoke is lambda:InvokeFunction on the function (a qualified ARN names a version or alias) ----
@_builds("lambda", "Invoke")
def _lambda_invoke(call: Call, state: EmulatorState) -> Authorization:
    name = str(call.params["FunctionName"])
    arn = name if name.startswith("arn:") else call.arn("lambda", f"function:{name}")
    if call.params.get("Qualifier"):
        arn = f"{arn}:{call.params['Qualifier']}"
    return Authorization([Access("lambda:InvokeFunction", arn, call.base_context(), state.function_policy(arn))])


# --- CloudWatch alarms ---------------------------------------------------------------------------------
def _alarm_access(call: Call, state: EmulatorState, action: str, name: str) -> Access:
    arn = call.arn("cloudwatch", f"alarm:{name}")
    return Access(action, arn, _with_tags(call.base_context(), state.alarm_tags(arn), "aws:resourcetag"))


@_builds("cloudwatch", "PutMetricAlarm")
def _put_metric_alarm(call: Call, state: EmulatorState) -> Authorization:
    name = str(call.params["AlarmName"])
    accesses = [_alarm_access(call, state, "cloudwatch:PutMetricAlarm", name)]
    if call.params.get("Tags"):  # creating an alarm with tags also needs cloudwatch:TagResource
        accesses.append(_alarm_access(call, state, "cloudwatch:TagResource", name))
    return Authorization(accesses)


@_builds("cloudwatch", "DeleteAlarms")
def _delete_alarms(call: Call, state: EmulatorState) -> Authorization:
    return Authorization([_alarm_access(call, state, "cloudwatch:DeleteAlarms", str(name))
                          for name in call.params.get("AlarmNames", [])])


@_builds("cloudwatch", "TagResource", "UntagResource", "ListTagsForResource")
def _alarm_tags(call: Call, state: EmulatorState) -> Authorization:
    arn = str(call.params["ResourceARN"])
    context = _with_tags(call.base_context(), state.alarm_tags(arn), "aws:resourcetag")
    return Authorization([Access(f"cloudwatch:{call.operation}", arn, context)])


@_builds("cloudwatch", "DescribeAlarms")
def _describe_alarms(call: Call, state: EmulatorState) -> Authorization:
    return Authorization([Access("cloudwatch:DescribeAlarms", call.arn("cloudwatch", "alarm:*"), call.base_context())])


# --- S3: object actions per object ARN, bucket actions per bucket ARN, the bucket policy and SSE-KMS ----
_S3_OBJECT_ACTIONS = {
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CopyObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "UploadPartCopy": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "ListParts": "s3:ListMultipartUploadParts",
    "DeleteObject": "s3:DeleteObject",
    "PutObjectTagging": "s3:PutObjectTagging",
    "GetObjectTagging": "s3:GetObjectTagging",
    "DeleteObjectTagging": "s3:DeleteObjectTagging",
}
# With a VersionId, these name the version action instead.
_S3_VERSION_ACTIONS = {"s3:GetObject": "s3:GetObjectVersion", "s3:DeleteObject": "s3:DeleteObjectVersion",
                       "s3:PutObjectTagging": "s3:PutObjectVersionTagging",
                       "s3:GetObjectTagging": "s3:GetObjectVersionTagging"}
# SSE-KMS: what S3 asks KMS for, with the caller's permissions.
_S3_KMS_ACTIONS = {
    "PutObject": ("kms:GenerateDataKey",),
    "CopyObject": ("kms:GenerateDataKey",),
    "CreateMultipartUpload": ("kms:GenerateDataKey",),
    "UploadPart": ("kms:GenerateDataKey", "kms:Decrypt"),
    "CompleteMultipartUpload": ("kms:Decrypt",),
    "GetObject": ("kms:Decrypt",),
}
_S3_BUCKET_ACTIONS = {"ListObjectsV2": "s3:ListBucket", "ListObjects": "s3:ListBucket", "HeadBucket": "s3:ListBucket",
                      "ListObjectVersions": "s3:ListBucketVersions",
                      "ListMultipartUploads": "s3:ListBucketMultipartUploads"}


# The writes that take If-None-Match / If-Match, whose values S3 gives policies as s3:if-none-match / s3:if-match.
_S3_CONDITIONAL_WRITES = {"PutObject", "CompleteMultipartUpload"}


@_builds("s3", *_S3_OBJECT_ACTIONS)
def _s3_object(call: Call, state: EmulatorState) -> Authorization:
    bucket, key = str(call.params["Bucket"]), str(call.params["Key"])
    action = _S3_OBJECT_ACTIONS[call.operation]
    if call.params.get("VersionId"):
        action = _S3_VERSION_ACTIONS.get(action, action)
    bucket_arn = f"arn:aws:s3:::{bucket}"
    request = call.base_context()
    for header, name in (("IfNoneMatch", "s3:if-none-match"), ("IfMatch", "s3:if-match")):
        if call.operation in _S3_CONDITIONAL_WRITES and call.params.get(header):
            request[name] = [str(call.params[header])]  # a conditional write: enforceable by policy
    access = Access(action, f"{bucket_arn}/{key}", request, state.bucket_policy(bucket) or [])
    kms = []
    encryption = _s3_kms_key(call, state, bucket, key) if call.operation in _S3_KMS_ACTIONS else None
    if encryption is not None:
        key_id, bucket_key = encryption
        context = {"aws:s3:arn": bucket_arn if bucket_key else f"{bucket_arn}/{key}"}
        kms.append(KmsUse(key_id, _S3_KMS_ACTIONS[call.operation], context, f"s3.{call.region}.amazonaws.com"))
    reads = (bucket, key) if call.operation in {"GetObject", "HeadObject"} else None
    return Authorization([access], kms, reads)


def _s3_kms_key(call: Call, state: EmulatorState, bucket: str, key: str) -> tuple[str, bool] | None:
    """The key S3 uses with the caller's permissions: the one a write names (SSEKMSKeyId), the one a
    multipart upload was created with, the one a stored object is under; else the bucket's default."""
    default = state.bucket_kms_key(bucket)
    bucket_key = default[1] if default is not None else False
    if call.operation in {"PutObject", "CopyObject", "CreateMultipartUpload"} and call.params.get("SSEKMSKeyId"):
        return str(call.params["SSEKMSKeyId"]), bool(call.params.get("BucketKeyEnabled", bucket_key))
    if call.operation in {"UploadPart", "CompleteMultipartUpload"} and call.params.get("UploadId"):
        named = state.multipart_kms_key(bucket, str(call.params["UploadId"]))
        return (named, bucket_key) if named else default
    if call.operation == "GetObject":
        stored = state.object_kms_key(bucket, key, call.params.get("VersionId"))
        return stored if stored is not None else default
    return default


@_builds("s3", *_S3_BUCKET_ACTIONS)
def _s3_bucket(call: Call, state: EmulatorState) -> Authorization:
    bucket = str(call.params["Bucket"])
    context = call.base_context()
    if "Prefix" in call.params:
        context["s3:prefix"] = [str(call.params["Prefix"])]
    return Authorization([Access(_S3_BUCKET_ACTIONS[call.operation], f"arn:aws:s3:::{bucket}", context,
                                 state.bucket_policy(bucket) or [])])


def list_bucket_access(call: Call, state: EmulatorState, bucket: str) -> Access:
    """What S3 checks before it tells a caller that a key does not exist."""
    return Access("s3:ListBucket", f"arn:aws:s3:::{bucket}", call.base_context(), state.bucket_policy(bucket) or [])
