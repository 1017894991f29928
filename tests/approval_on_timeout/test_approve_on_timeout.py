"""`panic-button:approval-on-timeout=approve`: a run that nobody answers is approved by the configuration,
re-checked, then interrupted. Its own sandbox: the stack is synthesized with that one context value changed
(the workflow package's sandbox runs the default, `deny`)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from panic_button_cli.main import main
from panic_button_cli.sandbox_arguments import check_cloud_assembly
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.instances import InstanceSpec
from panic_button_sandbox.sandbox import Sandbox
from tests.infrastructure.stack_build import REPO_ROOT, cdk_json_context
from tests.topic_subscriber import Topic
from tests.workflow.execution_control import entered, finish, start, wait_until

TIME_SCALE = 200.0
Deployed = tuple[Sandbox, Deployment]


def approve_on_timeout_template(stack_name: str, out: Path) -> Path:
    """The sandbox's stack as `cdk synth -c panic-button:approval-on-timeout=approve` writes it."""
    import aws_cdk as cdk

    from infra.config import load_config
    from infra.stack import PanicButtonStack

    with contextlib.chdir(REPO_ROOT):  # the Lambda code asset path is relative to the app's directory
        app = cdk.App(context={**cdk_json_context(), "panic-button:approval-on-timeout": "approve",
                               "panic-button:sandbox-collector-urls": True},  # as cdk.out/sandbox is made
                      outdir=str(out / "assembly"))
        PanicButtonStack(app, stack_name, config=load_config(app.node.get_all_context()))
        template = app.synth().get_stack_by_name(stack_name).template
    path = out / f"{stack_name}.template.json"
    path.write_text(json.dumps(template))
    return path


@pytest.fixture(scope="module")
def deployed(sandbox_cdk_out: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    workdir = tmp_path_factory.mktemp("approve-on-timeout")
    stack_name = check_cloud_assembly(sandbox_cdk_out)
    template = approve_on_timeout_template(stack_name, workdir)
    with Sandbox(workdir / "sandbox", time_scale=TIME_SCALE) as sandbox:
        # The code assets are the default synthesis's: only the state machine definition differs.
        yield sandbox, sandbox.deploy_template(template, sandbox_cdk_out, stack_name)


def test_no_decision_in_time_is_approved_rechecked_and_interrupted_once(
        deployed: Deployed, topic: Topic, capsys: pytest.CaptureFixture[str]) -> None:
    sandbox, deployment = deployed
    instance = sandbox.launch_instance(InstanceSpec(tags={"PanicButton": "approval"}))
    arn = start(deployed, instance.instance_id)
    wait_until(lambda: any("APPROVAL NEEDED" in m["Subject"] for m in topic.messages_about(arn)),
               "the approval request")
    [request] = [m for m in topic.messages_about(arn) if "APPROVAL NEEDED" in m["Subject"]]
    assert "the configuration decides: approve" in request["Message"]

    execution, record = finish(deployed, arn)  # nobody answers: the heartbeat window (15 min, scaled) ends it

    assert execution["status"] == "SUCCEEDED"
    assert entered(sandbox, arn, "ApprovedOnTimeout") and not entered(sandbox, arn, "DeniedOnTimeout")
    assert entered(sandbox, arn, "ReconfirmImpaired")  # the configuration's approval is re-checked too
    assert record["outcome"] == "DUMP_COLLECTED"
    assert record["decided_by"] == "timeout" and record["decided_at"]
    assert sandbox.interrupt_count(instance.instance_id) == 1
    outcomes = [m for m in topic.messages_about(arn) if "APPROVAL NEEDED" not in m["Subject"]]
    assert len(outcomes) == 1

    # The configuration decided: a late operator is told the wait is over, and nothing more is sent.
    capsys.readouterr()
    assert main(["approve", arn, "--stack", deployment.stack_name]) == 2
    assert "no longer waits for a decision" in capsys.readouterr().err
    assert sandbox.interrupt_count(instance.instance_id) == 1
