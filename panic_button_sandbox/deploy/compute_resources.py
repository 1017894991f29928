"""Creators for identity and workflow resources: IAM, Lambda, Step Functions, EventBridge, alarms."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from botocore.exceptions import ClientError

from panic_button_sandbox.deploy.context import Created, StackContext, as_json, pick, tags
from panic_button_sandbox.deploy.model import DeployedFunction
from panic_button_sandbox.lambda_assets import python_asset_dir


def iam_role(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    iam = ctx.client("iam")
    name = props.get("RoleName") or ctx.name(logical_id, 64)
    role = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=as_json(props["AssumeRolePolicyDocument"]),
        **pick(props, "Path", "Description", "MaxSessionDuration"),
        Tags=tags(props),
    )["Role"]
    for policy in props.get("Policies", []):
        iam.put_role_policy(
            RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=as_json(policy["PolicyDocument"])
        )
    for policy_arn in props.get("ManagedPolicyArns", []):
        try:
            iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
        except ClientError as error:  # best effort: moto knows only some AWS managed policies
            ctx.note(logical_id, f"managed policy {policy_arn} not attached: {error.response['Error']['Code']}")
    return Created(name, {"Arn": role["Arn"], "RoleId": role["RoleId"]})


def iam_policy(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    document = as_json(props["PolicyDocument"])
    for role in props.get("Roles", []):
        ctx.client("iam").put_role_policy(RoleName=role, PolicyName=props["PolicyName"], PolicyDocument=document)
    for kind in ("Users", "Groups"):
        if props.get(kind):
            ctx.note(logical_id, f"policy not attached to {kind.lower()}")
    return Created(ctx.name(logical_id, 64))


def iam_managed_policy(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    iam = ctx.client("iam")
    name = props.get("ManagedPolicyName") or ctx.name(logical_id, 128)
    arn = iam.create_policy(PolicyName=name, PolicyDocument=as_json(props["PolicyDocument"]))["Policy"]["Arn"]
    for role in props.get("Roles", []):
        iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    return Created(arn, {"PolicyArn": arn})


def lambda_function(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    name = props.get("FunctionName") or ctx.name(logical_id, 64)
    runtime = str(props.get("Runtime", ""))
    handler = str(props.get("Handler", ""))
    request: dict[str, Any] = pick(props, "Description", "Timeout", "MemorySize", "Architectures", "TracingConfig")
    if "Environment" in props:
        variables = props["Environment"].get("Variables", {})
        request["Environment"] = {"Variables": {key: str(value) for key, value in variables.items()}}
    if props.get("Layers"):
        ctx.note(logical_id, f"layers not created, their code comes from this Python environment: {props['Layers']}")
    arn = ctx.client("lambda").create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=props["Role"],
        Handler=handler,
        Code={"ZipFile": _placeholder_zip(name)},  # the sandbox runs the code from cdk.out, not this zip
        Tags={tag["Key"]: tag["Value"] for tag in tags(props)},
        **request,
    )["FunctionArn"]
    asset_dir = python_asset_dir(ctx.assets_dir, props)
    if asset_dir is not None:
        ctx.functions.append(
            DeployedFunction(
                logical_id=logical_id, function_name=name, handler=handler, runtime=runtime, asset_dir=asset_dir
            )
        )
    else:
        ctx.note(logical_id, f"{runtime or 'image'} function {name} cannot run in the sandbox")
    return Created(name, {"Arn": arn})


def lambda_permission(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    """A statement of the function's resource policy (the sandbox's IAM evaluates it for service callers)."""
    request = pick(props, "SourceArn", "SourceAccount", "PrincipalOrgID", "FunctionUrlAuthType")
    ctx.client("lambda").add_permission(FunctionName=props["FunctionName"], StatementId=logical_id,
                                        Action=props["Action"], Principal=props["Principal"], **request)
    return Created(logical_id)


def state_machine(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    name = props.get("StateMachineName") or ctx.name(logical_id, 80)
    if "DefinitionString" in props:
        definition = str(props["DefinitionString"])
    elif "Definition" in props:
        definition = as_json(props["Definition"])
    else:
        raise ValueError(f"{logical_id}: DefinitionS3Location is not supported; synthesize the definition inline")
    for key, value in props.get("DefinitionSubstitutions", {}).items():
        definition = definition.replace("${" + key + "}", str(value))
    arn = ctx.client("stepfunctions").create_state_machine(
        name=name, definition=definition, roleArn=props["RoleArn"], type=props.get("StateMachineType", "STANDARD")
    )["stateMachineArn"]
    return Created(arn, {"Arn": arn, "Name": name})


_TARGET_FIELDS = (
    "Id",
    "Arn",
    "RoleArn",
    "Input",
    "InputPath",
    "InputTransformer",
    "DeadLetterConfig",
    "RetryPolicy",
    "SqsParameters",
)


def events_rule(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    events = ctx.client("events")
    name = props.get("Name") or ctx.name(logical_id, 64)
    bus = props.get("EventBusName", "default")
    request: dict[str, Any] = pick(props, "ScheduleExpression", "State", "Description", "RoleArn")
    if "EventPattern" in props:
        request["EventPattern"] = as_json(props["EventPattern"])
    arn = events.put_rule(Name=name, EventBusName=bus, **request)["RuleArn"]
    targets = [pick(target, *_TARGET_FIELDS) for target in props.get("Targets", [])]
    if targets:
        events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
    return Created(name, {"Arn": arn})


def event_bus(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    arn = ctx.client("events").create_event_bus(Name=props["Name"])["EventBusArn"]
    return Created(props["Name"], {"Arn": arn, "Name": props["Name"]})


_ALARM_FIELDS = (
    "AlarmDescription",
    "ActionsEnabled",
    "AlarmActions",
    "OKActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)


def cloudwatch_alarm(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    name = props.get("AlarmName") or ctx.name(logical_id, 255)
    request = pick(props, *_ALARM_FIELDS)
    if "Threshold" in props:
        request["Threshold"] = float(props["Threshold"])
    ctx.client("cloudwatch").put_metric_alarm(AlarmName=name, **request)
    return Created(name, {"Arn": ctx.arn("cloudwatch", f"alarm:{name}")})


def cloudwatch_dashboard(ctx: StackContext, logical_id: str, props: dict[str, Any]) -> Created:
    name = props.get("DashboardName") or ctx.name(logical_id, 255)
    ctx.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=as_json(props["DashboardBody"]))
    return Created(name)


def _placeholder_zip(function_name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", f"{function_name}: the sandbox runs this function's code from cdk.out\n")
    return buffer.getvalue()
