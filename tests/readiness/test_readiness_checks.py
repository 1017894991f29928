"""Reading the document's output and turning findings into a verdict (no AWS)."""

from __future__ import annotations

from panic_button.models.alarms import AlarmConflict

from panic_button_cli.operations.readiness_checks import (
    CommandOutcome,
    InstanceFacts,
    assess,
    fleet_report,
    instance_findings,
    parse_output,
    script_findings,
)

READY_OUTPUT = """kdump_service=warn no systemctl found: service state unknown
crash_kernel_loaded=ok /sys/kernel/kexec_crash_loaded is 1
dump_space=ok 7.0 GiB free for 1.0 GiB of RAM
ready=yes
reasons=
"""
ONLINE = InstanceFacts(instance_id="i-0123456789abcdef0", instance_type="m5.large", state="running", opted_in=True,
                       agent_online=True, ping_status="Online", platform_type="Linux")


def test_output_lines_become_checks_and_a_verdict() -> None:
    parsed = parse_output("----------ERROR-------\nnoise without separator\n" + READY_OUTPUT + "odd=maybe x\n")
    assert parsed.ready is True
    assert [(c.name, c.status) for c in parsed.checks] == [
        ("kdump_service", "warn"), ("crash_kernel_loaded", "ok"), ("dump_space", "ok")]
    assert parsed.checks[2].detail == "7.0 GiB free for 1.0 GiB of RAM"


def test_output_without_a_verdict_is_a_failing_finding() -> None:
    checks = script_findings(CommandOutcome(status="Failed", stdout="crash_kernel_loaded=ok x\n",
                                            stderr="sh: 1: df: not found\nmore"))
    assert checks[-1].name == "readiness_document" and checks[-1].status == "fail"
    assert checks[-1].detail == "no verdict (command Failed): sh: 1: df: not found"


def test_a_not_ready_verdict_without_failed_lines_still_fails() -> None:
    checks = script_findings(CommandOutcome(status="Success", stdout="ready=no\nreasons=x\n"))
    assert [(c.name, c.status) for c in checks] == [("readiness_document", "fail")]


def test_warnings_do_not_block_but_are_reported() -> None:
    checks = instance_findings(ONLINE, "PanicButton=enabled", None, []) + script_findings(
        CommandOutcome(status="Success", stdout=READY_OUTPUT))
    verdict = assess(ONLINE, checks)
    assert verdict.ready is True and verdict.reasons == []
    assert verdict.warnings == ["kdump_service: no systemctl found: service state unknown"]


def test_cli_findings_name_agent_type_and_racing_alarms() -> None:
    offline = InstanceFacts(instance_id="i-0123456789abcdef0", instance_type="t2.micro", state="running",
                            opted_in=True, ping_status="ConnectionLost")
    conflict = AlarmConflict(alarm_name="reboot-web", instance_id=offline.instance_id,
                             metric_name="StatusCheckFailed_Instance",
                             actions=["arn:aws:automate:us-east-1:ec2:reboot"])
    verdict = assess(offline, instance_findings(offline, "PanicButton=enabled", "t2.micro runs on the xen hypervisor",
                                                [conflict]))
    assert verdict.ready is False
    assert verdict.reasons == [
        "ssm_agent: SSM agent not online (ConnectionLost): the dump cannot be collected",
        "interrupt_support: t2.micro runs on the xen hypervisor",
        "alarm_conflict: alarm reboot-web on StatusCheckFailed_Instance acts (reboot) and races the rescue",
    ]


def test_fleet_summary_counts_instances_per_failing_check() -> None:
    offline = InstanceFacts(instance_id="i-0fedcba9876543210", instance_type="m5.large", state="running",
                            opted_in=False)
    conflicts = [AlarmConflict(alarm_name=name, instance_id=offline.instance_id, metric_name="StatusCheckFailed",
                               actions=["arn:aws:automate:us-east-1:ec2:recover"]) for name in ("a", "b")]
    report = fleet_report([
        assess(ONLINE, instance_findings(ONLINE, "PanicButton=enabled", None, [])),
        assess(offline, instance_findings(offline, "PanicButton=enabled", None, conflicts)),
    ])
    assert (report.summary.total, report.summary.ready, report.summary.not_ready) == (2, 1, 1)
    # Two racing alarms on one instance count that instance once.
    assert report.summary.failing_checks == {"opted_in": 1, "ssm_agent": 1, "alarm_conflict": 1}
    assert [i.instance_id for i in report.instances] == [offline.instance_id, ONLINE.instance_id]
