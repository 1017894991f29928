"""Every outcome code, produced by the synthesized state machine running the real handlers, the real
rule pattern, the real collector script and a real presigned upload in the sandbox."""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any

import pytest
from sample_events import ALARM_STATE_CHANGE

from panic_button_cli.simulation import SimulationReport, simulate
from panic_button_sandbox.deploy.model import Deployment
from panic_button_sandbox.instances import InstanceSpec
from panic_button_sandbox.sandbox import Sandbox

Deployed = tuple[Sandbox, Deployment]
MANUAL = '{"instance_id": "${INSTANCE_ID}", "reason": "workflow test"}'


def run(deployed: Deployed, spec: InstanceSpec, *triggers: tuple[str, str]) -> SimulationReport:
    sandbox, deployment = deployed
    return simulate(sandbox, deployment, spec, list(triggers) or [("input", MANUAL)])


def alarm_event(**detail_changes: Any) -> str:
    event = json.loads(ALARM_STATE_CHANGE.read_text())
    text = json.dumps(event).replace("i-0abc1234def567890", "${INSTANCE_ID}")
    changed = json.loads(text)
    changed["detail"].update(detail_changes)
    return json.dumps(changed)


def only(report: SimulationReport) -> Any:
    assert len(report.results) == 1
    return report.results[0]


@pytest.mark.parametrize("layout", ["rhel", "amazon-linux", "debian", "ubuntu"])
def test_alarm_on_a_hung_linux_instance_collects_its_dump(deployed: Deployed, layout: str) -> None:
    report = run(deployed, InstanceSpec(crash_layout=layout), ("event", alarm_event()))
    result = only(report)
    assert result.outcome == "DUMP_COLLECTED", result.reason
    assert result.interrupt_sent and report.interrupts == 1
    names = {a.s3_uri.rsplit("/", 1)[-1]: a for a in result.artifacts}
    assert {"console-output.txt", "screenshot.jpg", "manifest.json", "report.json", "report.md"} <= set(names)
    dump_name = "vmcore" if layout in ("rhel", "amazon-linux") else next(n for n in names if n.startswith("dump."))
    instance = deployed[0].instance(result.instance_id)
    on_disk = next(p for p in instance.root.rglob(dump_name) if p.is_file())
    assert names[dump_name].sha256 == hashlib.sha256(on_disk.read_bytes()).hexdigest()
    assert result.record["triage_summary"][1].startswith("Cause: diagnostic interrupt")


def test_windows_dump_is_collected_through_the_emulated_powershell_contract(deployed: Deployed) -> None:
    result = only(run(deployed, InstanceSpec(platform="windows")))
    assert result.outcome == "DUMP_COLLECTED", result.reason
    assert any(a.s3_uri.endswith("/MEMORY.DMP") for a in result.artifacts)


def test_no_dump_after_the_interrupt_is_recovered_no_dump(deployed: Deployed) -> None:
    result = only(run(deployed, InstanceSpec(crash_layout="none")))
    assert result.outcome == "RECOVERED_NO_DUMP", result.reason
    assert result.interrupt_sent
    assert "no complete crash dump" in result.reason


def test_an_old_dump_is_reported_not_shipped(deployed: Deployed) -> None:
    folder = "var/crash/127.0.0.1-2020-01-01-00:00:00"
    sandbox, _ = deployed
    instance = sandbox.launch_instance(InstanceSpec(crash_layout="none", files={
        f"{folder}/vmcore": "old dump", f"{folder}/vmcore-dmesg.txt": "old log"}))
    a_year_ago = time.time() - 365 * 86400
    for path in (instance.root / folder).iterdir():
        os.utime(path, (a_year_ago, a_year_ago))
    result = simulate_existing(deployed, instance.instance_id, MANUAL.replace("${INSTANCE_ID}", instance.instance_id))
    assert result.outcome == "RECOVERED_NO_DUMP", result.reason
    assert "older dump" in result.reason
    assert not any("/dump/" in a.s3_uri for a in result.artifacts)


def test_an_instance_that_never_comes_back_is_not_recovered(deployed: Deployed) -> None:
    result = only(run(deployed, InstanceSpec(reboot_seconds=None)))
    assert result.outcome == "NOT_RECOVERED", result.reason
    assert result.interrupt_sent
    # The configured 20 minutes (not the sandbox's seconds), and what the console showed
    assert "did not come back within the 20 min recovery timeout" in result.reason
    assert "kdump saved a dump, then it never came back" in result.reason


def test_a_kernel_that_ignores_the_nmi_is_told_apart_from_one_that_never_came_back(deployed: Deployed) -> None:
    result = only(run(deployed, InstanceSpec(on_interrupt="ignore", crash_layout="none")))
    assert result.outcome == "NOT_RECOVERED", result.reason
    assert "the kernel logged the NMI and carried on without panicking" in result.reason


def test_back_without_its_ssm_agent_is_collection_failed(deployed: Deployed) -> None:
    result = only(run(deployed, InstanceSpec(ssm_online_after_reboot=False)))
    assert result.outcome == "COLLECTION_FAILED", result.reason
    assert "SSM agent" in result.reason


def test_dry_run_checks_everything_and_sends_nothing(deployed: Deployed) -> None:
    report = run(deployed, InstanceSpec(), ("input", '{"instance_id": "${INSTANCE_ID}", "dry_run": true}'))
    assert only(report).outcome == "DRY_RUN"
    assert report.interrupts == 0


def test_an_instance_without_the_opt_in_tag_is_not_authorized(deployed: Deployed) -> None:
    report = run(deployed, InstanceSpec(tags={"PanicButton": "disabled"}))
    assert only(report).outcome == "SKIPPED_NOT_AUTHORIZED"
    assert report.interrupts == 0


@pytest.mark.parametrize(("spec", "reason"), [
    (InstanceSpec(state="stopped"), "is stopped, not running"),
    (InstanceSpec(instance_type="m7g.large"), "m7g.large is powered by an AWS Graviton (arm64) processor"),
    (InstanceSpec(instance_type="a1.large"), "a1.large is powered by an AWS Graviton (arm64) processor"),
    (InstanceSpec(instance_type="t2.micro"), "t2.micro runs on the xen hypervisor"),
], ids=["stopped", "graviton", "a1", "xen"])
def test_ineligible_instances_are_skipped(deployed: Deployed, spec: InstanceSpec, reason: str) -> None:
    report = run(deployed, spec)
    result = only(report)
    assert result.outcome == "SKIPPED_NOT_ELIGIBLE", result.reason
    assert reason in result.reason
    assert not result.interrupt_sent and report.interrupts == 0


def test_x86_64_bare_metal_is_eligible(deployed: Deployed) -> None:
    # No Hypervisor field in DescribeInstanceTypes, yet the interrupt works: the dry run passes eligibility.
    report = run(deployed, InstanceSpec(instance_type="m5.metal"),
                 ("input", '{"instance_id": "${INSTANCE_ID}", "dry_run": true}'))
    assert only(report).outcome == "DRY_RUN", only(report).reason
    assert report.interrupts == 0


def test_an_instance_that_healed_itself_is_left_alone(deployed: Deployed) -> None:
    report = run(deployed, InstanceSpec(impaired=False))
    assert only(report).outcome == "SKIPPED_ALREADY_HEALTHY"
    assert report.interrupts == 0
    # Nothing of a healthy instance is copied: ConfirmImpaired runs before CaptureEvidence.
    sandbox, deployment = deployed
    listed = sandbox.client("s3").list_objects_v2(Bucket=deployment.outputs["EvidenceBucketName"],
                                                  Prefix=f"remediations/{only(report).instance_id}/")
    assert listed.get("KeyCount") == 0 and only(report).artifacts == []


def test_a_second_trigger_after_a_rescue_hits_the_cooldown(deployed: Deployed) -> None:
    sandbox, _ = deployed
    instance = sandbox.launch_instance(InstanceSpec())
    for expected in ("DUMP_COLLECTED", "SKIPPED_COOLDOWN"):
        body = MANUAL.replace("${INSTANCE_ID}", instance.instance_id)
        report = simulate_existing(deployed, instance.instance_id, body)
        assert report.outcome == expected, report.reason
    assert sandbox.interrupt_count(instance.instance_id) == 1


def test_the_fleet_rate_limit_stops_the_sixth_interrupt(deployed: Deployed) -> None:
    sandbox, deployment = deployed
    slots = [{"S": f"{2_000_000_000 + n}|i-0000000{n}|earlier-{n}"} for n in range(5)]
    sandbox.client("dynamodb").put_item(TableName=deployment.outputs["TableName"], Item={
        "pk": {"S": "FLEET"}, "sk": {"S": "INTERRUPT_WINDOW"}, "version": {"N": "1"}, "slots": {"L": slots}})
    report = run(deployed, InstanceSpec())
    assert only(report).outcome == "SKIPPED_RATE_LIMITED"
    assert report.interrupts == 0


@pytest.mark.parametrize("body", ['{"instance_id": "i-xyz"}', '{"instance_id": "${INSTANCE_ID}", "extra": 1}',
                                  '{"hello": "world"}'])
def test_malformed_manual_input_is_rejected(deployed: Deployed, body: str) -> None:
    report = run(deployed, InstanceSpec(), ("input", body))
    assert only(report).outcome == "REJECTED_INVALID_INPUT"
    assert report.interrupts == 0


@pytest.mark.parametrize("size", [250_000, 261_000])
def test_an_input_near_the_256_kib_limit_is_refused_at_the_edge_with_a_record(deployed: Deployed, size: int) -> None:
    # Before: the raw input rode in the state, the parts overflowed 256 KiB and the run FAILED unrecorded.
    body = json.dumps({"instance_id": "${INSTANCE_ID}", "reason": "big", "padding": "p" * size})
    result = only(run(deployed, InstanceSpec(), ("input", body)))
    assert (result.status, result.outcome) == ("SUCCEEDED", "REJECTED_INVALID_INPUT")
    assert result.reason.startswith("input is over the 32 KiB a trigger may be; the input (")
    assert len(result.reason) < 500  # a bounded excerpt, not the input
    assert result.instance_id.startswith("i-") and not result.interrupt_sent


def test_a_composite_alarm_is_rejected(deployed: Deployed) -> None:
    event = alarm_event(configuration={"alarmRule": "ALARM(a) OR ALARM(b)"})
    assert only(run(deployed, InstanceSpec(), ("event", event))).outcome == "REJECTED_INVALID_INPUT"


def test_events_the_rule_does_not_match_start_nothing(deployed: Deployed) -> None:
    other_alarm = alarm_event(alarmName="someone-elses-alarm")
    back_to_ok = alarm_event(state={"value": "OK", "reason": "recovered"})
    report = run(deployed, InstanceSpec(), ("event", other_alarm), ("event", back_to_ok))
    assert [r.outcome for r in report.results] == ["NOT_TRIGGERED", "NOT_TRIGGERED"]
    assert all(r.execution_arn is None for r in report.results)


def test_racing_triggers_send_exactly_one_interrupt(deployed: Deployed) -> None:
    report = run(deployed, InstanceSpec(), ("event", alarm_event()), ("input", MANUAL), ("input", MANUAL))
    outcomes = sorted(r.outcome for r in report.results)
    assert report.interrupts == 1
    assert outcomes == ["DUMP_COLLECTED", "SKIPPED_COOLDOWN", "SKIPPED_COOLDOWN"]
    assert all("in flight" in r.reason for r in report.results if r.outcome == "SKIPPED_COOLDOWN")


def simulate_existing(deployed: Deployed, instance_id: str, body: str) -> Any:
    from panic_button_cli.simulation import Trigger, collect_result, start_triggers, wait_all

    sandbox, deployment = deployed
    arns = start_triggers(sandbox, deployment, instance_id, [Trigger(kind="input", body=json.loads(body))])
    finished = wait_all(sandbox, arns)
    return collect_result(sandbox, deployment, instance_id, arns[0], finished[arns[0] or ""])
