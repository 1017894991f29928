#!/usr/bin/env python3
"""CDK entry point. Needs no AWS credentials: the stack is environment-agnostic."""

from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.config import ConfigError, load_config
from infra.context_files import context_files
from infra.organization.hub_stack import PanicButtonHubStack
from infra.organization.member_stack import PanicButtonMemberStack
from infra.organization.member_stack_set import member_stack_id
from infra.stack import PanicButtonStack


def main() -> None:
    app = cdk.App()
    try:
        config = load_config(app.node.get_all_context(), context_files(Path(__file__).resolve().parent))
    except ConfigError as error:
        raise SystemExit(f"panic-button: {error}") from None
    if config.mode == "organization":
        # The hub (StackSet included), and the member stack for `cdk deploy` per account without StackSets.
        PanicButtonHubStack(app, f"{config.stack_name}-Hub", config=config)
        PanicButtonMemberStack(app, member_stack_id(config), config=config)
    else:
        PanicButtonStack(app, config.stack_name, config=config)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    app.synth()


if __name__ == "__main__":
    main()
