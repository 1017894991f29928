"""Take one statement away from a synthesized policy and the workflow ends as it would on AWS: the sandbox's
IAM denies what the statement granted, the handler meets AWS's error, and the run is still recorded."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sample_events import ALARM_STATE_CHANGE

from panic_button_cli.sandbox_arguments import check_cloud_assembly
from panic_button_cli.simulation import SimulationReport, simulate
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.iam.grant_usage import DenialRecord
from panic_button_sandbox.instances import InstanceSpec
from panic_button_sandbox.sandbox import Sandbox
from tests.lifecycle.lifecycle_fleet import LifecycleFleet

TIME_SCALE = 200.0
MANUAL = '{"instance_id": "${INSTANCE_ID}", "reason": "statement removal test"}'
Template = dict[str, Any]


@pytest.fixture
def deploy_changed(sandbox_cdk_out: Path, tmp_path: Path) -> Iterator[Callable[[Callable[[Template], None]], tuple[
        Sandbox, Deployment]]]:
    """Deploy the synthesized template after `change` edits it; one sandbox per test."""
    opened: list[Sandbox] = []

    def deploy(change: Callable[[Template], None]) -> tuple[Sandbox, Deployment]:
        stack = check_cloud_assembly(sandbox_cdk_out)
        template: Template = json.loads((sandbox_cdk_out / f"{stack}.template.json").read_text())
        change(template)
        changed = tmp_path / f"{stack}.template.json"
        changed.write_text(json.dumps(template))
        sandbox = Sandbox(tmp_path / "sandbox", time_scale=TIME_SCALE)
        sandbox.start()
        opened.append(sandbox)
        return sandbox, sandbox.deploy_template(changed, sandbox_cdk_out, stack)

    yield deploy
    for sandbox in opened:
        sandbox.close()


def _role_policy_of(template: Template, role_prefix: str) -> dict[str, Any]:
    [policy] = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"
                and any(ref.get("Ref", "").startswith(role_prefix) for ref in r["Properties"]["Roles"])]
    document: dict[str, Any] = policy["Properties"]["PolicyDocument"]
    return document


def _remove(statements: list[dict[str, Any]], matches: Callable[[dict[str, Any]], bool]) -> None:
    kept = [s for s in statements if not matches(s)]
    assert len(kept) == len(statements) - 1, "exactly one statement is taken away"
    statements[:] = kept


def _delete_resource(template: Template, name: str) -> None:
    del template["Resources"][name]
    for resource in template["Resources"].values():
        depends = resource.get("DependsOn")
        if isinstance(depends, list) and name in depends:
            depends.remove(name)
        elif depends == name:
            del resource["DependsOn"]


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    return actions if isinstance(actions, list) else [actions]


def _run(sandbox: Sandbox, deployment: Deployment) -> SimulationReport:
    return simulate(sandbox, deployment, InstanceSpec(), [("input", MANUAL)])


def _denials(sandbox: Sandbox, action: str) -> list[DenialRecord]:
    return [d for d in sandbox.iam.recorder.denials() if d.action == action]


def test_without_its_interrupt_grant_send_interrupt_is_not_authorized(deploy_changed: Any) -> None:
    def without_interrupt(template: Template) -> None:
        document = _role_policy_of(template, "StepsSendInterruptRole")
        _remove(document["Statement"], lambda s: "ec2:SendDiagnosticInterrupt" in _actions(s))

    sandbox, deployment = deploy_changed(without_interrupt)
    [result] = _run(sandbox, deployment).results
    # On AWS: UnauthorizedOperation, which the handler turns into NotAuthorized; no interrupt goes out.
    assert result.outcome == "SKIPPED_NOT_AUTHORIZED", result.reason
    assert "IAM denied SendDiagnosticInterrupt" in result.reason
    assert not result.interrupt_sent and sandbox.interrupt_count(result.instance_id) == 0
    [denial] = _denials(sandbox, "ec2:SendDiagnosticInterrupt")
    assert denial.resource.endswith(f":instance/{result.instance_id}")
    assert "because no identity-based policy allows" in denial.reason


def test_without_the_state_rule_permission_a_launch_gets_no_alarm_but_rescues_still_record(
        deploy_changed: Any) -> None:
    def without_state_rule_permission(template: Template) -> None:
        resources = template["Resources"]
        [permission] = [name for name, r in resources.items() if r["Type"] == "AWS::Lambda::Permission"
                        and r["Properties"]["SourceArn"]["Fn::GetAtt"][0].startswith("AlarmManagerInstanceStateRule")]
        del resources[permission]  # the one statement of the function's resource policy for that rule

    sandbox, deployment = deploy_changed(without_state_rule_permission)
    fleet = LifecycleFleet(sandbox, deployment)
    instance_id = fleet.launch({**fleet.opt_in})
    # On AWS: EventBridge may not invoke the alarm manager for the state change; the hourly reconcile would.
    assert fleet.alarms_on(instance_id) == {}
    [denial] = _denials(sandbox, "lambda:InvokeFunction")
    assert denial.function == "events.amazonaws.com"
    assert "because no resource-based policy allows" in denial.reason
    [result] = _run(sandbox, deployment).results  # the workflow itself is untouched
    assert result.outcome == "DUMP_COLLECTED", result.reason


def test_without_the_key_statement_for_alarms_the_failure_alarm_cannot_notify(deploy_changed: Any) -> None:
    def without_cloudwatch_key_use(template: Template) -> None:
        # The stack's key, not the dump key (DumpProtection), which no alarm uses.
        [key] = [r for n, r in template["Resources"].items() if r["Type"] == "AWS::KMS::Key"
                 and not n.startswith("DumpProtection")]
        _remove(key["Properties"]["KeyPolicy"]["Statement"],
                lambda s: s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com")

    sandbox, deployment = deploy_changed(without_cloudwatch_key_use)
    [result] = _run(sandbox, deployment).results
    assert result.outcome == "DUMP_COLLECTED", result.reason  # still recorded: the Lambdas use the key via IAM
    [failures] = [a.physical_id for a in deployment.of_type("AWS::CloudWatch::Alarm") if "WorkflowFailures" in
                  a.logical_id]
    sandbox.set_alarm_state(failures, "ALARM")
    [action] = sandbox.alarm_actions.of(failures)
    # On AWS the alarm history says "Failed to execute action": the topic's key refuses cloudwatch.amazonaws.com.
    assert not action.delivered
    assert "kms:GenerateDataKey" in action.error
    [denial] = _denials(sandbox, "kms:GenerateDataKey")
    assert denial.function == "cloudwatch.amazonaws.com"


def test_without_the_rule_role_grant_the_alarm_event_lands_in_the_dead_letter_queue(deploy_changed: Any) -> None:
    def without_start_execution(template: Template) -> None:
        # Its only statement: the policy goes, as CloudFormation would have no empty policy.
        [name] = [n for n, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Policy"
                  and n.startswith("WorkflowStateMachineEventsRoleDefaultPolicy")]
        assert [_actions(s) for s in template["Resources"][name]["Properties"]["PolicyDocument"]["Statement"]] \
            == [["states:StartExecution"]]
        _delete_resource(template, name)

    sandbox, deployment = deploy_changed(without_start_execution)
    event = json.loads(ALARM_STATE_CHANGE.read_text())
    assert sandbox.put_event(event) == []  # no execution starts
    # EventBridge, as events.amazonaws.com, may send to the queue (queue policy with aws:SourceArn) and use its key.
    [queue] = [q for q in deployment.of_type("AWS::SQS::Queue") if q.logical_id.startswith("TriggerDeadLetters")]
    messages = sandbox.client("sqs").receive_message(QueueUrl=queue.physical_id, MessageAttributeNames=["All"])
    [message] = messages["Messages"]
    assert message["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"
    assert json.loads(message["Body"])["detail"]["alarmName"] == event["detail"]["alarmName"]
    [denial] = _denials(sandbox, "states:StartExecution")
    assert "because no identity-based policy allows" in denial.reason


def test_a_presigned_manifest_url_is_refused_once_its_signer_may_not_read(deploy_changed: Any) -> None:
    def without_start_locate_reads(template: Template) -> None:
        document = _role_policy_of(template, "StepsStartLocateRole")
        # Its reads are one statement of their own, on the collector/ objects only.
        _remove(document["Statement"], lambda s: _actions(s) == ["s3:GetObject"])

    sandbox, deployment = deploy_changed(without_start_locate_reads)
    [result] = _run(sandbox, deployment).results
    # On AWS: the collector's GET of its manifest, presigned by StartLocate's role, gets 403 AccessDenied.
    assert result.outcome == "COLLECTION_FAILED", result.reason
    assert result.interrupt_sent
    [denial, *_] = _denials(sandbox, "s3:GetObject")
    assert denial.function.startswith(f"{deployment.stack_name}-StepsStartLocateFunction")
    assert denial.resource.endswith("collector/locate.manifest")
