"""Steps 5 and 6: a healed instance is left alone; SendDiagnosticInterrupt answers map to our outcomes.
moto has no SendDiagnosticInterrupt and no impaired status, so those answers are scripted."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from panic_button.errors import AlreadyHealthy, NotAuthorized, NotEligible
from panic_button.logic.interrupt import confirm_still_impaired, instance_status, send_interrupt
from panic_button.outcomes import Outcome

from .support import INSTANCE, NOW, aws_client, client_error


@pytest.fixture
def stubbed() -> Any:
    client = aws_client("ec2")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def status_answer(stubber: Stubber, *, state: str = "running", instance: str = "impaired",
                  system: str = "ok") -> None:
    stubber.add_response("describe_instance_status", {"InstanceStatuses": [{
        "InstanceId": INSTANCE,
        "InstanceState": {"Code": 16, "Name": state},
        "InstanceStatus": {"Status": instance},
        "SystemStatus": {"Status": system},
    }]}, {"InstanceIds": [INSTANCE], "IncludeAllInstances": True})


class TestConfirmStillImpaired:
    def test_a_healthy_instance_in_moto_is_left_alone(self, ec2: Any, launch: Any) -> None:
        instance_id = launch()

        with pytest.raises(AlreadyHealthy, match=instance_id) as caught:
            confirm_still_impaired(ec2, instance_id)
        assert caught.value.outcome is Outcome.SKIPPED_ALREADY_HEALTHY

    def test_a_booting_instance_is_not_interrupted(self, stubbed: Any) -> None:
        ec2, stubber = stubbed
        status_answer(stubber, instance="initializing")

        with pytest.raises(AlreadyHealthy, match="booting"):
            confirm_still_impaired(ec2, INSTANCE)

    def test_an_impaired_instance_goes_on_to_the_interrupt(self, stubbed: Any) -> None:
        ec2, stubber = stubbed
        status_answer(stubber, instance="impaired")

        assert confirm_still_impaired(ec2, INSTANCE) == {"state": "running", "instance": "impaired", "system": "ok"}

    def test_the_instance_check_alone_decides_health(self, stubbed: Any) -> None:
        ec2, stubber = stubbed
        status_answer(stubber, instance="ok", system="impaired")

        with pytest.raises(AlreadyHealthy):
            confirm_still_impaired(ec2, INSTANCE)

    def test_an_instance_that_is_not_running_is_not_called_healthy(self, stubbed: Any) -> None:
        ec2, stubber = stubbed
        status_answer(stubber, state="stopping", instance="ok")

        assert confirm_still_impaired(ec2, INSTANCE)["state"] == "stopping"

    def test_no_status_at_all_reads_as_unknown(self, stubbed: Any) -> None:
        ec2, stubber = stubbed
        stubber.add_response("describe_instance_status", {"InstanceStatuses": []})

        assert instance_status(ec2, INSTANCE) == {"state": "unknown", "instance": "unknown", "system": "unknown"}


class TestSendInterrupt:
    def test_a_real_interrupt_records_when_it_was_sent(self, stubbed: Any) -> None:
        ec2, stubber = stubbed
        stubber.add_response("send_diagnostic_interrupt", {}, {"InstanceId": INSTANCE, "DryRun": False})

        interrupt = send_interrupt(ec2, INSTANCE, dry_run=False, now=NOW)

        assert (interrupt.sent, interrupt.sent_at, interrupt.permission_checked) == (True, NOW, False)

    def test_a_dry_run_checks_the_permission_and_sends_nothing(self, stubbed: Any) -> None:
        ec2, stubber = stubbed
        stubber.add_client_error("send_diagnostic_interrupt", service_error_code="DryRunOperation",
                                 service_message="Request would have succeeded, but DryRun flag is set.",
                                 http_status_code=412, expected_params={"InstanceId": INSTANCE, "DryRun": True})

        interrupt = send_interrupt(ec2, INSTANCE, dry_run=True, now=NOW)

        assert (interrupt.sent, interrupt.sent_at, interrupt.permission_checked) == (False, None, True)

    def test_an_unsupported_instance_is_not_eligible(self, stubbed: Any) -> None:
        ec2, stubber = stubbed
        client_error(stubber, "send_diagnostic_interrupt", "UnsupportedOperation", "not supported on xen")

        with pytest.raises(NotEligible, match="not supported on xen") as caught:
            send_interrupt(ec2, INSTANCE, dry_run=False, now=NOW)
        assert caught.value.outcome is Outcome.SKIPPED_NOT_ELIGIBLE

    @pytest.mark.parametrize("dry_run", [False, True])
    def test_an_iam_denial_is_not_authorized_not_a_dry_run(self, stubbed: Any, dry_run: bool) -> None:
        ec2, stubber = stubbed
        client_error(stubber, "send_diagnostic_interrupt", "UnauthorizedOperation")

        with pytest.raises(NotAuthorized, match="IAM denied") as caught:
            send_interrupt(ec2, INSTANCE, dry_run=dry_run, now=NOW)
        assert caught.value.outcome is Outcome.SKIPPED_NOT_AUTHORIZED

    def test_a_dry_run_answer_to_a_real_request_is_not_taken_for_success(self, stubbed: Any) -> None:
        ec2, stubber = stubbed
        client_error(stubber, "send_diagnostic_interrupt", "DryRunOperation")

        with pytest.raises(ClientError, match="DryRunOperation"):
            send_interrupt(ec2, INSTANCE, dry_run=False, now=NOW)
