"""Arguments every operations command shares, and the boto3 session they describe."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError

from panic_button_cli.operations.errors import explain

CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"
STACK_NAME_CONTEXT_KEY = "panic-button:stack-name"
FALLBACK_STACK_NAME = "PanicButton"


def default_stack_name(cdk_json: Path = CDK_JSON) -> str:
    """The stack name the CDK app deploys; an installed CLI without cdk.json uses the app's default."""
    try:
        context = json.loads(cdk_json.read_text()).get("context", {})
    except (OSError, ValueError):
        return FALLBACK_STACK_NAME
    return str(context.get(STACK_NAME_CONTEXT_KEY) or FALLBACK_STACK_NAME)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("AWS")
    group.add_argument("--stack", metavar="NAME", default=default_stack_name(),
                       help="CloudFormation stack of Panic Button (default: %(default)s, from cdk.json)")
    group.add_argument("--region", help="AWS Region (default: AWS_REGION, then AWS_DEFAULT_REGION, then the "
                                        "profile's region)")
    group.add_argument("--profile", help="AWS named profile (default: AWS_PROFILE or the default chain)")


# The AWS CLI's order (docs.aws.amazon.com/cli/latest/userguide/cli-configure-envvars.html): AWS_REGION
# overrides AWS_DEFAULT_REGION, and both override the profile's region. This botocore reads only the second.
REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")


def resolve_region(flag: str | None, target: str = "", environ: Mapping[str, str] = os.environ) -> str | None:
    """--region, then the Region of a pasted ARN, then the environment; None leaves it to the profile."""
    if flag:
        return flag
    if target.startswith("arn:") and target.count(":") >= 4:
        return target.split(":")[3]  # an execution lives in the Region its ARN names, whatever the shell says
    return next((environ[name] for name in REGION_VARIABLES if environ.get(name)), None)


def open_session(args: argparse.Namespace) -> boto3.Session:
    """The session for --profile/--region; a bad profile becomes an OperatorError with the fix."""
    region = resolve_region(getattr(args, "region", None), str(getattr(args, "target", "") or ""))
    try:
        return boto3.Session(profile_name=getattr(args, "profile", None), region_name=region)
    except BotoCoreError as error:
        raise explain(error) from None


def example_epilog(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)
