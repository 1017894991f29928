"""Creators for data-holding resources: KMS, S3, DynamoDB, SQS, SNS, SSM, CloudWatch Logs."""

from __future__ import annotations

from typing import Any

from panic_button_sandbox.deploy.context import Created, StackContext, as_json, pick, tags


def kms_key(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    kms = ctx.client("kms")
    extra = {"Policy": as_json(props["KeyPolicy"])} if "KeyPolicy" in props else {}
    key = kms.create_key(**pick(props, "Description", "KeyUsage", "KeySpec"), **extra)["KeyMetadata"]
    if props.get("EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=key["KeyId"])
    return Created(key["KeyId"], {"Arn": key["Arn"], "KeyId": key["KeyId"]})


def kms_alias(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    ctx.client("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
    return Created(props["AliasName"])


def s3_bucket(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    s3 = ctx.client("s3")
    name = props.get("BucketName") or ctx.name(logical_id, 63, lowercase=True)
    s3.create_bucket(Bucket=name)
    if "BucketEncryption" in props:
        rules = [  # CloudFormation says ServerSideEncryptionByDefault where the API says Apply...
            {
                "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                **pick(rule, "BucketKeyEnabled"),
            }
            for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
    if tags(props):
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags(props)})
    if "LoggingConfiguration" in props:  # delivered by the sandbox itself (panic_button_sandbox/s3_access_logs.py)
        logging = props["LoggingConfiguration"]
        ctx.access_logs[name] = (str(logging["DestinationBucketName"]), str(logging.get("LogFilePrefix", "")))
    for unsupported in ("LifecycleConfiguration", "NotificationConfiguration", "ReplicationConfiguration"):
        if unsupported in props:
            ctx.note(logical_id, f"{unsupported} not applied in the sandbox")
    return Created(
        name,
        {
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{ctx.region}.amazonaws.com",
        },
    )


def s3_bucket_policy(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    """moto ignores policy conditions, so a conditional Deny (CDK's enforceSSL: deny unless
    aws:SecureTransport) would deny every request to the sandbox's http endpoint: such statements
    are left out, and noted."""
    document = dict(props["PolicyDocument"])
    statements = document.get("Statement", [])
    kept = [s for s in statements if not (s.get("Effect") == "Deny" and "Condition" in s)]
    if len(kept) != len(statements):
        ctx.note(
            logical_id,
            f"{len(statements) - len(kept)} conditional Deny statement(s) left out (moto ignores conditions)",
        )
    ctx.client("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=as_json({**document, "Statement": kept}))
    ctx.bucket_policies[props["Bucket"]] = as_json(document)  # the sandbox's IAM evaluates it whole
    return Created(props["Bucket"])


def dynamodb_table(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    dynamodb = ctx.client("dynamodb")
    name = props.get("TableName") or ctx.name(logical_id, 255)
    request: dict[str, Any] = pick(
        props,
        "KeySchema",
        "AttributeDefinitions",
        "BillingMode",
        "ProvisionedThroughput",
        "LocalSecondaryIndexes",
        "DeletionProtectionEnabled",
    )
    if "GlobalSecondaryIndexes" in props:
        request["GlobalSecondaryIndexes"] = [
            pick(index, "IndexName", "KeySchema", "Projection", "ProvisionedThroughput")
            for index in props["GlobalSecondaryIndexes"]
        ]
    if "StreamSpecification" in props:
        request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    if "SSESpecification" in props:
        sse = props["SSESpecification"]
        request["SSESpecification"] = {"Enabled": bool(sse.get("SSEEnabled")), **pick(sse, "SSEType", "KMSMasterKeyId")}
    if tags(props):
        request["Tags"] = tags(props)
    table = dynamodb.create_table(TableName=name, **request)["TableDescription"]
    if "TimeToLiveSpecification" in props:
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"])
    attributes = {"Arn": table["TableArn"]}
    if "LatestStreamArn" in table:
        attributes["StreamArn"] = table["LatestStreamArn"]
    return Created(name, attributes)


_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "FifoQueue",
    "ContentBasedDeduplication",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "SqsManagedSseEnabled",
)


def sqs_queue(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    fifo = bool(props.get("FifoQueue"))
    name = props.get("QueueName") or ctx.name(logical_id, 80, suffix=".fifo" if fifo else "")
    attributes = {key: _attribute_text(value) for key, value in pick(props, *_QUEUE_ATTRIBUTES).items()}
    url = ctx.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return Created(url, {"Arn": ctx.arn("sqs", name), "QueueName": name, "QueueUrl": url})


def sqs_queue_policy(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    for url in props["Queues"]:
        ctx.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": as_json(props["PolicyDocument"])})
    return Created(ctx.name(logical_id, 64))


def sns_topic(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    sns = ctx.client("sns")
    fifo = bool(props.get("FifoTopic"))
    name = props.get("TopicName") or ctx.name(logical_id, 256, suffix=".fifo" if fifo else "")
    attributes = {
        key: _attribute_text(value)
        for key, value in pick(props, "DisplayName", "KmsMasterKeyId", "FifoTopic", "ContentBasedDeduplication").items()
    }
    arn = sns.create_topic(Name=name, Attributes=attributes, Tags=tags(props))["TopicArn"]
    for subscription in props.get("Subscription", []):
        sns.subscribe(TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"])
    return Created(arn, {"TopicArn": arn, "TopicName": name})


def sns_subscription(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    attributes = {
        key: as_json(value) if key != "RawMessageDelivery" else _attribute_text(value)
        for key, value in pick(
            props, "RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy"
        ).items()
    }
    arn = ctx.client("sns").subscribe(
        TopicArn=props["TopicArn"],
        Protocol=props["Protocol"],
        Endpoint=props.get("Endpoint", ""),
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return Created(arn)


def sns_topic_policy(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    for topic in props["Topics"]:
        ctx.client("sns").set_topic_attributes(
            TopicArn=topic, AttributeName="Policy", AttributeValue=as_json(props["PolicyDocument"])
        )
    return Created(ctx.name(logical_id, 64))


def ssm_document(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    name = props.get("Name") or ctx.name(logical_id, 128)
    content = props["Content"]
    document_format = props.get("DocumentFormat", "JSON" if not isinstance(content, str) else "YAML")
    ctx.client("ssm").create_document(
        Name=name,
        Content=as_json(content),
        DocumentType=props.get("DocumentType", "Command"),
        DocumentFormat=document_format,
        **pick(props, "TargetType"),
        Tags=tags(props),
    )
    return Created(name)


def ssm_parameter(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    name = props.get("Name") or f"CFN-{ctx.name(logical_id, 128)}"
    ctx.client("ssm").put_parameter(Name=name, Value=str(props["Value"]), Type=props.get("Type", "String"))
    return Created(name, {"Type": props.get("Type", "String"), "Value": str(props["Value"])})


def log_group(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    logs = ctx.client("logs")
    name = props.get("LogGroupName") or ctx.name(logical_id, 512)
    logs.create_log_group(logGroupName=name, **({"kmsKeyId": props["KmsKeyId"]} if "KmsKeyId" in props else {}))
    if "RetentionInDays" in props:
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
    return Created(name, {"Arn": ctx.arn("logs", f"log-group:{name}:*")})


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return as_json(value) if isinstance(value, dict | list) else str(value)
