"""Names the hub and member stacks must agree on without a lookup: the member template is the same in every
account and Region (a StackSet deploys one template), so each name is built from the configuration and, where
it varies, the Region the stack lands in."""

from __future__ import annotations

from aws_cdk import Aws

from infra.config import IN_REGION, PanicButtonConfig

# The hub steps that call the member account (through the member role). ResolveTarget, TriageDump,
# RecordOutcome and the guards touch only the hub's own table, bucket and topic.
CROSS_ACCOUNT_STEPS = ("CheckEligibility", "CaptureEvidence", "ConfirmImpaired", "SendInterrupt",
                       "CheckRecovery", "ApplyFallback", "StartLocate", "PollCommand", "StartUpload",
                       "AbandonCollection")
ALARM_MANAGER_STEP = "ManageAlarms"
# The member documents, by fixed name: SSM shares documents with account IDs only (not with an organization),
# so every member holds its own copy under a name the hub can use without a lookup.
DOCUMENT_SUFFIXES = {"linux": "Collector-Linux", "windows": "Collector-Windows", "readiness": "Readiness"}


def hub_region(config: PanicButtonConfig) -> str:
    """The Region of the hub that serves a member stack: its own (in-region) or the central hub's."""
    return Aws.REGION if config.hub_regions == IN_REGION else config.hub_regions


def hub_role_name(config: PanicButtonConfig, step: str, region: str = Aws.REGION) -> str:
    # IAM is global: the Region in the name keeps the per-Region hubs' roles apart.
    return f"{config.stack_name}-{step}-{region}"


def hub_role_arns(config: PanicButtonConfig) -> list[str]:
    region = hub_region(config)
    return [f"arn:{Aws.PARTITION}:iam::{config.hub_account}:role/{hub_role_name(config, step, region)}"
            for step in (*CROSS_ACCOUNT_STEPS, ALARM_MANAGER_STEP)]


def member_role_name(config: PanicButtonConfig, region: str = Aws.REGION) -> str:
    return f"{config.stack_name}-Member-{region}"


def hub_bus_name(config: PanicButtonConfig) -> str:
    return f"{config.stack_name}-hub"


def hub_bus_arn(config: PanicButtonConfig) -> str:
    return f"arn:{Aws.PARTITION}:events:{hub_region(config)}:{config.hub_account}:event-bus/{hub_bus_name(config)}"


def document_name(config: PanicButtonConfig, kind: str) -> str:
    return f"{config.stack_name}-{DOCUMENT_SUFFIXES[kind]}"
