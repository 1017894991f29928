"""One workflow step's Lambda: its own role and log group, the shared code asset, Powertools, X-Ray.
Each step construct grants exactly what that step needs; nothing is shared between roles."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.nag import acknowledge_wildcard_resource
from infra.suppressions import skip_checkov

# Template metadata on a role: granted actions no sandbox test exercises, each with why it is kept. The sandbox's
# IAM recording (build/iam-grant-usage.json) lists every unused grant that has no such reason.
UNEXERCISED_METADATA = "PanicButton::UnexercisedGrants"
XRAY_REASON = "X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) has no resource-level permissions"

RUNTIME = lambda_.Runtime.PYTHON_3_14  # the latest Python runtime Lambda offers

# checkov findings every Panic Button function shares, and why they do not apply.
NO_VPC_REASON = ("Calls only AWS service APIs (TriageDump also the public debuginfod servers configured, if any) and "
                 "reaches nothing inside a VPC; a VPC would need a NAT gateway or an interface endpoint per "
                 "service called, and isolate nothing")
NO_RESERVED_CONCURRENCY_REASON = (
    "Reserved concurrency is taken from the account's unreserved pool and fails the deploy in accounts with a "
    "low concurrency quota; invocations are bounded upstream (instance lock and fleet rate limit for the "
    "workflow, EC2 state and tag events for the alarm manager)")
PLAIN_ENVIRONMENT_REASON = ("The environment holds resource names and settings, no secrets; Lambda encrypts it at "
                            "rest with its AWS-managed key, and the stack key would add kms:Decrypt to every role")
SYNC_NO_DLQ_REASON = ("Step Functions invokes this function synchronously; a Lambda dead-letter queue only "
                      "receives failed asynchronous invocations, and the Task's Catch records every failure")
ASYNC_NO_DLQ_REASON = ("A failed EventBridge invocation is repaired by the next scheduled run, which re-derives "
                       "its work from the current state (every alarm from the fleet, every due storm window from "
                       "the table); dead letters would hold nothing to act on")


@dataclass(frozen=True)
class SharedFunctionProps:
    code: lambda_.Code
    layer: lambda_.ILayerVersion
    key: kms.IKey  # encrypts the log groups (the key policy lets CloudWatch Logs use it for this account)
    environment: dict[str, str]
    log_retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS
    extra_environment: dict[str, str] = field(default_factory=dict)


def explain_unexercised(role: iam.IRole, actions: list[str], reason: str) -> None:
    """Template metadata on `role`: these granted actions stay, for `reason`, although no sandbox test uses them."""
    resource = role.node.default_child
    if not isinstance(resource, iam.CfnRole):
        raise TypeError(f"{role.node.path} is not a role of this stack")
    entries = resource.get_metadata(UNEXERCISED_METADATA) or []
    resource.add_metadata(UNEXERCISED_METADATA, [*entries, {"actions": sorted(actions), "reason": reason}])


class StepFunction(Construct):
    """A thin handler `panic_button.handlers.handle_<step>.lambda_handler` with a least-privilege role."""

    def __init__(self, scope: Construct, construct_id: str, *, step: str, description: str,
                 shared: SharedFunctionProps, timeout: Duration | None = None,
                 memory_mb: int = 256, asynchronous: bool = False, code: lambda_.Code | None = None,
                 ephemeral_mb: int | None = None, extra_environment: dict[str, str] | None = None) -> None:
        super().__init__(scope, construct_id)
        # Logs can carry instance facts and command output: encrypted with the stack key like the rest.
        self.log_group = logs.LogGroup(self, "Logs", retention=shared.log_retention, encryption_key=shared.key,
                                       removal_policy=RemovalPolicy.DESTROY)
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                             description=f"Panic Button step {step}: {description}")
        self._star_reasons = [XRAY_REASON]
        # Explicit log permissions on its own log group instead of the broad managed policy.
        streams = f"{self.log_group.log_group_arn}:*"
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[self.log_group.log_group_arn, streams],
        ))
        acknowledge_wildcard_resource(self.role, streams, "Log streams are created at run time, and only inside "
                                                          "this function's own log group.")
        self.explain_unexercised(["logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments",
                                  "xray:PutTelemetryRecords"],
                                 "used by the Lambda runtime and its X-Ray daemon, not by the handler: the sandbox "
                                 "runs handlers in-process, without either")
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            code=code or shared.code,
            handler=f"panic_button.handlers.handle_{step}.lambda_handler",
            description=description,
            role=self.role,
            layers=[shared.layer],
            environment={**shared.environment, **(extra_environment or {}), "POWERTOOLS_METRICS_FUNCTION_NAME": step},
            ephemeral_storage_size=Size.mebibytes(ephemeral_mb) if ephemeral_mb else None,
            timeout=timeout or Duration.seconds(30),
            memory_size=memory_mb,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
        )
        skip_checkov(self.function, "CKV_AWS_117", NO_VPC_REASON)
        skip_checkov(self.function, "CKV_AWS_115", NO_RESERVED_CONCURRENCY_REASON)
        skip_checkov(self.function, "CKV_AWS_173", PLAIN_ENVIRONMENT_REASON)
        skip_checkov(self.function, "CKV_AWS_116", ASYNC_NO_DLQ_REASON if asynchronous else SYNC_NO_DLQ_REASON)

    def allow(self, actions: list[str], resources: list[str],
              conditions: dict[str, dict[str, str | list[str]]] | None = None,
              *, wildcard_reason: str | None = None, unexercised_reason: str | None = None) -> None:
        """Grant `actions`; a wildcard resource needs a reason, which becomes its cdk-nag acknowledgement.
        `unexercised_reason` says why a grant no sandbox test uses is kept (see `explain_unexercised`)."""
        self.role.add_to_policy(iam.PolicyStatement(actions=actions, resources=resources, conditions=conditions))
        if unexercised_reason is not None:
            self.explain_unexercised(actions, unexercised_reason)
        for resource in resources:
            if "*" not in resource:
                continue
            if wildcard_reason is None:
                raise ValueError(f"{self.node.path}: wildcard resource {resource!r} granted without a reason")
            if resource == "*":
                self._star_reasons.append(wildcard_reason)
            else:
                acknowledge_wildcard_resource(self.role, resource, wildcard_reason)

    def explain_unexercised(self, actions: list[str], reason: str) -> None:
        """Record on the role why these granted actions stay although no sandbox test uses them."""
        explain_unexercised(self.role, actions, reason)

    def acknowledge_star(self) -> None:
        """Call once all grants are made: one acknowledgement of `Resource::*` listing every reason."""
        acknowledge_wildcard_resource(self.role, "*", "; ".join(self._star_reasons) + ".")

    def instance_arns(self) -> str:
        stack = Stack.of(self)
        return stack.format_arn(service="ec2", resource="instance", resource_name="*")
