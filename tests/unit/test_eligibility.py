"""Step 2: only opted-in, running instances on types that take a diagnostic interrupt go further."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.stub import Stubber
from panic_button.errors import NotAuthorized, NotEligible
from panic_button.logic.eligibility import check_eligibility
from panic_button.outcomes import Outcome

from .support import REGION, WINDOWS_AMI, aws_client, client_error

Launch = Callable[..., str]


def check(ec2: Any, instance_id: str, *, tag_key: str = "PanicButton", tag_value: str = "enabled") -> Any:
    return check_eligibility(ec2, instance_id, tag_key=tag_key, tag_value=tag_value)


def test_an_opted_in_linux_instance_is_described(ec2: Any, launch: Launch) -> None:
    instance_id = launch(tags={"PanicButton": "enabled", "Name": "db-primary"})

    facts = check(ec2, instance_id)

    assert facts.instance_id == instance_id
    assert facts.instance_type == "m5.large"
    assert facts.platform == "linux"
    assert facts.state == "running"
    assert facts.name == "db-primary"
    assert facts.availability_zone and facts.availability_zone.startswith(REGION)


def test_a_windows_instance_is_recorded_as_windows(ec2: Any, launch: Launch,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "true")  # the Windows image is one of moto's defaults

    assert check(ec2, launch(image_id=WINDOWS_AMI)).platform == "windows"


def test_the_opt_in_tag_key_and_value_are_configurable(ec2: Any, launch: Launch) -> None:
    instance_id = launch(tags={"team:rescue": "yes"})

    assert check(ec2, instance_id, tag_key="team:rescue", tag_value="yes").instance_id == instance_id
    with pytest.raises(NotAuthorized):
        check(ec2, instance_id)


class TestNotAuthorized:
    def test_an_instance_without_the_tag(self, ec2: Any, launch: Launch) -> None:
        instance_id = launch(tags={"Name": "web"})

        with pytest.raises(NotAuthorized, match="no PanicButton tag") as caught:
            check(ec2, instance_id)
        assert caught.value.outcome is Outcome.SKIPPED_NOT_AUTHORIZED

    def test_an_instance_with_another_tag_value_says_which(self, ec2: Any, launch: Launch) -> None:
        instance_id = launch(tags={"PanicButton": "disabled"})

        with pytest.raises(NotAuthorized, match="'disabled'"):
            check(ec2, instance_id)

    def test_tag_values_are_compared_exactly(self, ec2: Any, launch: Launch) -> None:
        with pytest.raises(NotAuthorized):
            check(ec2, launch(tags={"PanicButton": "Enabled"}))

    def test_authorization_is_judged_before_the_state(self, ec2: Any, launch: Launch) -> None:
        instance_id = launch(tags={})
        ec2.stop_instances(InstanceIds=[instance_id])

        with pytest.raises(NotAuthorized):
            check(ec2, instance_id)


class TestNotEligible:
    @pytest.mark.parametrize("transition", ["stop_instances", "terminate_instances"])
    def test_an_instance_that_is_not_running(self, ec2: Any, launch: Launch, transition: str) -> None:
        instance_id = launch()
        getattr(ec2, transition)(InstanceIds=[instance_id])

        with pytest.raises(NotEligible, match="not running") as caught:
            check(ec2, instance_id)
        assert caught.value.outcome is Outcome.SKIPPED_NOT_ELIGIBLE

    def test_an_instance_that_does_not_exist(self, ec2: Any) -> None:
        with pytest.raises(NotEligible, match="does not exist"):
            check(ec2, "i-0123456789abcdef0")

    def test_a_xen_instance_type(self, ec2: Any, launch: Launch) -> None:
        with pytest.raises(NotEligible, match=r"t2\.micro runs on the xen hypervisor") as caught:
            check(ec2, launch(instance_type="t2.micro"))
        assert caught.value.outcome is Outcome.SKIPPED_NOT_ELIGIBLE

    @pytest.mark.parametrize("instance_type", ["m7g.large", "a1.large", "m6g.metal"])
    def test_a_graviton_instance_type_names_the_processor(self, ec2: Any, launch: Launch,
                                                          instance_type: str) -> None:
        instance_id = launch(instance_type=instance_type)

        with pytest.raises(NotEligible) as caught:
            check(ec2, instance_id)
        assert str(caught.value) == (f"{instance_id} cannot take a diagnostic interrupt: {instance_type} is "
                                     "powered by an AWS Graviton (arm64) processor; diagnostic interrupts need "
                                     "x86_64 Nitro")
        assert caught.value.outcome is Outcome.SKIPPED_NOT_ELIGIBLE

    def test_a_mac_instance_type(self, ec2: Any, launch: Launch) -> None:
        with pytest.raises(NotEligible, match=r"mac1\.metal is an EC2 Mac type"):
            check(ec2, launch(instance_type="mac1.metal"))

    def test_an_instance_type_ec2_does_not_describe(self, ec2: Any, launch: Launch) -> None:
        with pytest.raises(NotEligible, match="does not describe"):
            check(ec2, launch(instance_type="x9.huge"))


@pytest.mark.parametrize("instance_type", ["m5.metal", "m5zn.metal"])
def test_bare_metal_types_are_supported(ec2: Any, launch: Launch, instance_type: str) -> None:
    assert check(ec2, launch(instance_type=instance_type)).instance_type == instance_type


class TestScriptedAwsAnswers:
    """Answers of DescribeInstances/DescribeInstanceTypes that moto never gives, scripted with a Stubber."""

    @pytest.fixture
    def stubbed(self) -> Any:
        client = aws_client("ec2")
        with Stubber(client) as stubber:
            yield client, stubber
            stubber.assert_no_pending_responses()

    def test_a_malformed_id_error_means_not_eligible(self, stubbed: Any) -> None:
        client, stubber = stubbed
        client_error(stubber, "describe_instances", "InvalidInstanceID.Malformed")

        with pytest.raises(NotEligible, match="does not exist"):
            check(client, "i-0123456789abcdef0")

    def test_an_empty_reservation_list_means_not_eligible(self, stubbed: Any) -> None:
        client, stubber = stubbed
        stubber.add_response("describe_instances", {"Reservations": []})

        with pytest.raises(NotEligible, match="does not exist"):
            check(client, "i-0123456789abcdef0")

    def test_throttling_is_not_mistaken_for_a_missing_instance(self, stubbed: Any) -> None:
        client, stubber = stubbed
        client_error(stubber, "describe_instances", "RequestLimitExceeded")

        with pytest.raises(client.exceptions.ClientError, match="RequestLimitExceeded"):
            check(client, "i-0123456789abcdef0")


def test_the_approval_value_opts_in_and_asks_for_a_person(ec2: Any, launch: Launch) -> None:
    waits = check_eligibility(ec2, launch(tags={"PanicButton": "approval"}), tag_key="PanicButton",
                              tag_value="enabled", approval_value="approval")
    goes = check_eligibility(ec2, launch(tags={"PanicButton": "enabled"}), tag_key="PanicButton",
                             tag_value="enabled", approval_value="approval")

    assert waits.approval_required is True
    assert goes.approval_required is False


def test_without_an_approval_value_the_approval_tag_is_not_opted_in(ec2: Any, launch: Launch) -> None:
    instance_id = launch(tags={"PanicButton": "approval"})

    with pytest.raises(NotAuthorized, match=r"PanicButton='approval', expected PanicButton=enabled$"):
        check(ec2, instance_id)
    with pytest.raises(NotAuthorized, match=r"expected PanicButton=enabled or PanicButton=approval$"):
        check_eligibility(ec2, launch(tags={"PanicButton": "yes"}), tag_key="PanicButton", tag_value="enabled",
                          approval_value="approval")
