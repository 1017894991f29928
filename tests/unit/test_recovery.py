"""Step 7: one recovery poll. Recovered means running, both checks OK and an SSM ping newer than the
interrupt. EC2 is moto where it can say "ok"; SSM DescribeInstanceInformation is scripted (moto answers 500)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber
from panic_button.errors import AgentUnreachable, NotRecovered
from panic_button.logic.recovery import RecoveryBudget, agent_ping_after, check_recovery
from panic_button.models.state import Recovery
from panic_button.outcomes import Outcome

from .support import INSTANCE, NOW, aws_client

IGNORED_NMI = "[ 3012.554101] Uhhuh. NMI received for unknown reason 3d on CPU 0.\n"
INTERRUPTED_AT = NOW
POLL_TIME = NOW + timedelta(minutes=3)
BUDGET = RecoveryBudget(timeout_seconds=120, poll_interval_seconds=30)
FIRST = None  # the poll right after the interrupt
SECOND = Recovery(status="WAITING", attempt=1, waited_seconds=0, next_poll_seconds=10)
# The last poll: the waits before it reach the 2 min timeout.
LAST = Recovery(status="WAITING", attempt=3, waited_seconds=90, next_poll_seconds=30)


@pytest.fixture
def ssm() -> Any:
    client = aws_client("ssm")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def impaired_ec2() -> Any:
    client = aws_client("ec2")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def agent_answer(stubber: Stubber, instance_id: str, *, ping: str = "Online", last_ping: datetime | None) -> None:
    info: dict[str, Any] = {"InstanceId": instance_id, "PingStatus": ping}
    if last_ping is not None:
        info["LastPingDateTime"] = last_ping
    stubber.add_response("describe_instance_information", {"InstanceInformationList": [info]},
                         {"Filters": [{"Key": "InstanceIds", "Values": [instance_id]}]})


def impaired_answer(stubber: Stubber, *, state: str = "running") -> None:
    stubber.add_response("describe_instance_status", {"InstanceStatuses": [{
        "InstanceId": INSTANCE, "InstanceState": {"Code": 16, "Name": state},
        "InstanceStatus": {"Status": "impaired"}, "SystemStatus": {"Status": "ok"},
    }]})


def poll(ec2: Any, ssm_client: Any, instance_id: str, *, previous: Recovery | None) -> Recovery:
    return check_recovery(ec2, ssm_client, instance_id=instance_id, interrupted_at=INTERRUPTED_AT, previous=previous,
                          budget=BUDGET, now=POLL_TIME)


def console_answer(stubber: Stubber, text: str) -> None:
    stubber.add_response("get_console_output", {"InstanceId": INSTANCE, "Output": text},
                         {"InstanceId": INSTANCE, "Latest": True})


class TestChecksPass:
    def test_an_agent_ping_after_the_interrupt_means_recovered(self, ec2: Any, launch: Any, ssm: Any) -> None:
        instance_id = launch()
        client, stubber = ssm
        agent_answer(stubber, instance_id, last_ping=INTERRUPTED_AT + timedelta(seconds=40))

        recovery = poll(ec2, client, instance_id, previous=SECOND)

        assert (recovery.status, recovery.attempt, recovery.recovered_at) == ("RECOVERED", 2, POLL_TIME)
        assert recovery.waited_seconds == 10

    def test_recovery_on_the_last_poll_still_counts(self, ec2: Any, launch: Any, ssm: Any) -> None:
        instance_id = launch()
        client, stubber = ssm
        agent_answer(stubber, instance_id, last_ping=INTERRUPTED_AT + timedelta(seconds=1))

        assert poll(ec2, client, instance_id, previous=LAST).status == "RECOVERED"

    def test_a_ping_from_before_the_interrupt_keeps_waiting(self, ec2: Any, launch: Any, ssm: Any) -> None:
        instance_id = launch()
        client, stubber = ssm
        agent_answer(stubber, instance_id, last_ping=INTERRUPTED_AT)

        recovery = poll(ec2, client, instance_id, previous=FIRST)

        assert (recovery.status, recovery.attempt, recovery.recovered_at) == ("WAITING", 1, None)
        assert "not pinged since the interrupt" in recovery.detail
        assert recovery.next_poll_seconds == 5  # up: the agent pings within seconds

    def test_an_agent_that_never_comes_back_is_a_collection_failure(self, ec2: Any, launch: Any, ssm: Any) -> None:
        instance_id = launch()
        client, stubber = ssm
        agent_answer(stubber, instance_id, ping="ConnectionLost", last_ping=INTERRUPTED_AT - timedelta(hours=1))

        with pytest.raises(AgentUnreachable, match="ConnectionLost") as caught:
            poll(ec2, client, instance_id, previous=LAST)
        assert caught.value.outcome is Outcome.COLLECTION_FAILED
        assert "within the 2 min recovery timeout" in str(caught.value)


class TestAgentPing:
    @pytest.mark.parametrize(("ping", "last_ping", "expected"), [
        ("Online", NOW + timedelta(seconds=1), (True, "SSM agent online")),
        ("Online", NOW, (False, "SSM agent has not pinged since the interrupt")),
        ("Online", None, (False, "SSM agent has not pinged since the interrupt")),
        ("ConnectionLost", NOW + timedelta(seconds=1), (False, "SSM agent ConnectionLost")),
        ("Inactive", NOW + timedelta(seconds=1), (False, "SSM agent Inactive")),
    ])
    def test_only_an_online_agent_with_a_fresh_ping_counts(self, ssm: Any, ping: str, last_ping: datetime | None,
                                                           expected: tuple[bool, str]) -> None:
        client, stubber = ssm
        agent_answer(stubber, INSTANCE, ping=ping, last_ping=last_ping)

        assert agent_ping_after(client, INSTANCE, NOW) == expected

    def test_an_unregistered_agent_does_not_count(self, ssm: Any) -> None:
        client, stubber = ssm
        stubber.add_response("describe_instance_information", {"InstanceInformationList": []})

        assert agent_ping_after(client, INSTANCE, NOW) == (False, "SSM agent not registered")


class TestChecksFail:
    def test_an_impaired_instance_keeps_waiting_without_asking_ssm(self, impaired_ec2: Any, ssm: Any) -> None:
        ec2, stubber = impaired_ec2
        impaired_answer(stubber)
        console_answer(stubber, IGNORED_NMI + "[ 3012.554113] Kernel panic - not syncing: NMI: Not continuing\n")

        recovery = poll(ec2, ssm[0], INSTANCE, previous=FIRST)

        assert (recovery.status, recovery.attempt, recovery.stage) == ("WAITING", 1, "panicked")
        assert "instance check impaired" in recovery.detail and "crash kernel panicked" in recovery.detail

    def test_an_instance_still_impaired_on_the_last_poll_did_not_recover(self, impaired_ec2: Any,
                                                                         ssm: Any) -> None:
        ec2, stubber = impaired_ec2
        impaired_answer(stubber)
        console_answer(stubber, IGNORED_NMI)

        with pytest.raises(NotRecovered) as caught:
            poll(ec2, ssm[0], INSTANCE, previous=LAST)
        assert caught.value.outcome is Outcome.NOT_RECOVERED
        # The configured time, not the time the poll loop took; and what the console showed
        assert "within the 2 min recovery timeout (4 polls over 120 s): state running, instance check impaired" \
            in str(caught.value)
        assert "console: the kernel logged the NMI and carried on without panicking" in str(caught.value)

    def test_a_console_that_cannot_be_read_leaves_the_outcome_alone(self, impaired_ec2: Any, ssm: Any) -> None:
        ec2, stubber = impaired_ec2
        impaired_answer(stubber)
        stubber.add_client_error("get_console_output", "UnauthorizedOperation", http_status_code=403)

        with pytest.raises(NotRecovered, match=r"console: unavailable \(UnauthorizedOperation\)"):
            poll(ec2, ssm[0], INSTANCE, previous=LAST)

    def test_a_windows_instance_is_not_judged_by_its_serial_console(self, impaired_ec2: Any, ssm: Any) -> None:
        ec2, stubber = impaired_ec2
        impaired_answer(stubber)  # and no console call: the stubber would refuse one

        with pytest.raises(NotRecovered, match="screenshot in the evidence"):
            check_recovery(ec2, ssm[0], instance_id=INSTANCE, interrupted_at=INTERRUPTED_AT, previous=LAST,
                           budget=RecoveryBudget(timeout_seconds=120, poll_interval_seconds=30, platform="windows"),
                           now=POLL_TIME)

    @pytest.mark.parametrize(("timeout", "said"), [(1200, "20 min"), (315, "315 s")])
    def test_the_budget_is_told_in_the_configured_time(self, timeout: int, said: str) -> None:
        budget = RecoveryBudget(timeout_seconds=timeout, poll_interval_seconds=30)
        assert budget.describe() == f"{said} recovery timeout"

    def test_a_stopped_instance_with_ok_checks_is_not_recovered(self, impaired_ec2: Any, ssm: Any) -> None:
        ec2, stubber = impaired_ec2
        stubber.add_response("describe_instance_status", {"InstanceStatuses": [{
            "InstanceId": INSTANCE, "InstanceState": {"Code": 80, "Name": "stopped"},
            "InstanceStatus": {"Status": "ok"}, "SystemStatus": {"Status": "ok"},
        }]})
        console_answer(stubber, "")

        assert poll(ec2, ssm[0], INSTANCE, previous=FIRST).status == "WAITING"
