"""A CloudFormation stack record for the deployed template, so tools that find the stack by name
(`panic-button start/follow/history/readiness`, `aws cloudformation describe-stacks`) work against the
sandbox as against AWS. The resources themselves were created by the deployer; this record only carries
the stack's name and its resolved Outputs."""

from __future__ import annotations

import json
import warnings
from typing import Any

# moto does not model this resource type; the record needs one resource, and this one does nothing.
_PLACEHOLDER = {"Marker": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}


def register_stack(cloudformation: Any, stack_name: str, outputs: dict[str, str],
                   descriptions: dict[str, str] | None = None) -> None:
    template = {
        "Description": f"Sandbox record of {stack_name}: resources were deployed from cdk.out by the sandbox.",
        "Resources": _PLACEHOLDER,
        "Outputs": {key: {"Value": value, "Description": (descriptions or {}).get(key, key)}
                    for key, value in outputs.items()},
    }
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*WaitConditionHandle.*")
        # A redeploy into the same sandbox replaces the record, as an update would on AWS.
        cloudformation.delete_stack(StackName=stack_name)
        cloudformation.create_stack(StackName=stack_name, TemplateBody=json.dumps(template))
