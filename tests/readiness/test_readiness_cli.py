"""`panic-button readiness` against the sandbox: the stack's readiness document really runs readiness.sh
on simulated instances, and the CLI adds the SSM agent, interrupt support and racing alarms."""

from __future__ import annotations

import json
from typing import Any

import pytest

from panic_button_cli.main import main
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.instances import InstanceSpec
from panic_button_sandbox.sandbox import Sandbox

from .instance_roots import BREAKS, ENORMOUS_MEMORY, READY_FILES

Deployed = tuple[Sandbox, Deployment]


def launch(sandbox: Sandbox, files: dict[str, str | None] | None = None, **spec: Any) -> str:
    wanted = {**READY_FILES, **(files or {})}
    settings: dict[str, Any] = {"impaired": False, "crash_layout": "debian"} | spec
    instance = sandbox.launch_instance(InstanceSpec(
        files={path: text for path, text in wanted.items() if text is not None}, **settings))
    return instance.instance_id


def run_cli(deployed: Deployed, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The command's exit code, stdout and stderr, without the in-process Lambdas' logs: launches reach the
    alarm manager asynchronously, and in the sandbox it logs into this process's stdout."""
    sandbox, deployment = deployed
    sandbox.wait_for_async_invocations()
    capsys.readouterr()
    code = main(["readiness", "--interval", "0.05", "--stack", deployment.stack_name, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def readiness_json(deployed: Deployed, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code, out, err = run_cli(deployed, capsys, "--json", *args)
    assert err == ""
    return code, json.loads(out)


def by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {instance["instance_id"]: instance for instance in report["instances"]}


def failing(instance: dict[str, Any]) -> list[str]:
    return [check["name"] for check in instance["checks"] if check["status"] == "fail"]


def test_ready_instance_exits_zero(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    sandbox = deployed[0]
    ready = launch(sandbox)
    code, report = readiness_json(deployed, capsys, "--instance", ready)
    assert code == 0
    [instance] = report["instances"]
    assert instance["ready"] is True and instance["reasons"] == []
    assert instance["platform"] == "Linux" and instance["instance_type"] == "m5.large"
    names = {check["name"]: check["status"] for check in instance["checks"]}
    # The script's checks arrived through SSM, next to the CLI's own.
    assert names["crash_kernel_loaded"] == names["nmi_panic"] == names["dump_space"] == "ok"
    assert names["ssm_agent"] == names["opted_in"] == names["interrupt_support"] == "ok"
    assert report["summary"] == {"total": 1, "ready": 1, "not_ready": 0, "failing_checks": {}}


def test_each_broken_kernel_setting_is_a_reason(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    sandbox = deployed[0]
    broken = {check: launch(sandbox, files) for check, files in BREAKS.items()}
    code, report = readiness_json(deployed, capsys, "--instance", *broken.values())
    assert code == 1
    found = by_id(report)
    for check, instance_id in broken.items():
        assert found[instance_id]["ready"] is False
        assert failing(found[instance_id]) == [check]
        assert found[instance_id]["reasons"][0].startswith(f"{check}: ")
    assert report["summary"]["not_ready"] == len(BREAKS)
    assert report["summary"]["failing_checks"] == dict.fromkeys(BREAKS, 1)


def test_default_selection_is_the_opted_in_fleet(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    sandbox = deployed[0]
    ready = launch(sandbox)
    too_small = launch(sandbox, {"proc/meminfo": ENORMOUS_MEMORY})
    hung = launch(sandbox, impaired=True)  # a hung kernel: its agent is offline
    stopped = launch(sandbox, state="stopped")
    untagged = launch(sandbox, tags={"Name": "not opted in"})
    code, report = readiness_json(deployed, capsys)
    assert code == 1
    found = by_id(report)
    assert {ready, too_small, hung} <= found.keys()
    assert not {stopped, untagged} & found.keys()
    assert found[ready]["ready"] is True
    assert failing(found[too_small]) == ["dump_space"]
    assert failing(found[hung]) == ["ssm_agent"]
    assert "SSM agent not online" in found[hung]["reasons"][0]


def test_named_instances_report_opt_in_state_and_type(deployed: Deployed,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    sandbox = deployed[0]
    untagged = launch(sandbox, tags={"Name": "web-1"})
    xen = launch(sandbox, instance_type="t2.micro")
    stopped = launch(sandbox, state="stopped")
    code, report = readiness_json(deployed, capsys, "--instance", untagged, xen, stopped)
    assert code == 1
    found = by_id(report)
    assert failing(found[untagged]) == ["opted_in"] and found[untagged]["name"] == "web-1"
    assert failing(found[xen]) == ["interrupt_support"]
    assert "xen" in found[xen]["reasons"][0]
    assert failing(found[stopped]) == ["instance_state"]


@pytest.mark.parametrize(("instance_type", "reason"), [
    ("m7g.large", "m7g.large is powered by an AWS Graviton (arm64) processor"),
    ("a1.large", "a1.large is powered by an AWS Graviton (arm64) processor"),
    ("t2.micro", "t2.micro runs on the xen hypervisor"),
    ("mac1.metal", "mac1.metal is an EC2 Mac type"),
    ("m5.metal", None),
])
def test_interrupt_support_follows_the_described_processor_and_hypervisor(
        deployed: Deployed, capsys: pytest.CaptureFixture[str], instance_type: str, reason: str | None) -> None:
    instance_id = launch(deployed[0], instance_type=instance_type)
    code, report = readiness_json(deployed, capsys, "--instance", instance_id)
    [instance] = report["instances"]
    [check] = [c for c in instance["checks"] if c["name"] == "interrupt_support"]
    if reason is None:  # x86_64 bare metal: no hypervisor, still supported
        assert (code, instance["ready"], check["status"]) == (0, True, "ok")
    else:
        assert (code, instance["ready"], failing(instance)) == (1, False, ["interrupt_support"])
        assert instance["reasons"] == [f"interrupt_support: {check['detail']}"]
        assert check["detail"].startswith(reason)


def test_reboot_alarm_on_the_status_check_is_a_conflict(deployed: Deployed,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    sandbox = deployed[0]
    instance_id = launch(sandbox)
    sandbox.client("cloudwatch").put_metric_alarm(
        AlarmName=f"reboot-{instance_id}", Namespace="AWS/EC2", MetricName="StatusCheckFailed_Instance",
        Dimensions=[{"Name": "InstanceId", "Value": instance_id}], Statistic="Maximum", Period=60,
        EvaluationPeriods=2, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=["arn:aws:automate:us-east-1:ec2:reboot"])
    code, report = readiness_json(deployed, capsys, "--instance", instance_id)
    assert code == 1
    [instance] = report["instances"]
    assert failing(instance) == ["alarm_conflict"]
    assert f"reboot-{instance_id}" in instance["reasons"][0] and "reboot" in instance["reasons"][0]


def test_table_shows_each_instance_and_the_fleet(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    sandbox = deployed[0]
    ready = launch(sandbox)
    not_ready = launch(sandbox, BREAKS["nmi_panic"])
    code, out, _ = run_cli(deployed, capsys, "--instance", ready, not_ready)
    assert code == 1
    [ready_row] = [line for line in out.splitlines() if ready in line]
    [not_ready_row] = [line for line in out.splitlines() if not_ready in line]
    assert "READY" in ready_row and "NOT READY" not in ready_row
    assert "NOT READY" in not_ready_row and "nmi_panic: kernel.unknown_nmi_panic = 0" in not_ready_row
    assert "Fleet: 2 instance(s), 1 READY, 1 NOT READY; failing: nmi_panic 1" in out


@pytest.mark.parametrize(("args", "expected"), [
    (["--instance", "i-0123456789abcdef0"], "i-0123456789abcdef0 not found"),
    (["--instance", "web-1"], "web-1"),
    (["--stack", "NoSuchStack"], "stack 'NoSuchStack' not found"),
])
def test_errors_are_one_line_with_exit_two(deployed: Deployed, capsys: pytest.CaptureFixture[str],
                                           args: list[str], expected: str) -> None:
    code, out, err = run_cli(deployed, capsys, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and expected in err
