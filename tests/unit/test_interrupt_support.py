"""The one interrupt-support rule, on what DescribeInstanceTypes says, and its batched reader."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from panic_button.logic.interrupt_support import interrupt_support_problem, support_problems

from .support import aws_client, client_error

NEEDED = "diagnostic interrupts need x86_64 Nitro"


@pytest.fixture
def calls(ec2: Any) -> Iterator[Counter[str]]:
    counted: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        counted[model.name] += 1

    ec2.meta.events.register("before-call", count)
    yield counted
    ec2.meta.events.unregister("before-call", count)  # the client is shared with other tests


@pytest.mark.parametrize(("instance_type", "expected"), [
    ("m5.large", None),
    ("m7i.large", None),
    ("m5.metal", None),  # x86_64 bare metal: no Hypervisor field, still supported
    ("m7g.large", f"m7g.large is powered by an AWS Graviton (arm64) processor; {NEEDED}"),
    ("c7gn.large", f"c7gn.large is powered by an AWS Graviton (arm64) processor; {NEEDED}"),
    ("a1.large", f"a1.large is powered by an AWS Graviton (arm64) processor; {NEEDED}"),
    ("m6g.metal", f"m6g.metal is powered by an AWS Graviton (arm64) processor; {NEEDED}"),
    ("t2.micro", f"t2.micro runs on the xen hypervisor; {NEEDED}"),
    ("mac1.metal", "mac1.metal is an EC2 Mac type with an Intel (x86_64_mac) processor; "
                   "EC2 does not document diagnostic interrupts on Mac instances"),
    ("mac2.metal", "mac2.metal is an EC2 Mac type with an Apple (arm64_mac) processor; "
                   "EC2 does not document diagnostic interrupts on Mac instances"),
])
def test_the_rule_on_described_types(ec2: Any, instance_type: str, expected: str | None) -> None:
    [described] = ec2.describe_instance_types(InstanceTypes=[instance_type])["InstanceTypes"]

    assert interrupt_support_problem(described) == expected


class TestEntriesMotoNeverGives:
    def test_no_processor_information_is_not_supported(self) -> None:
        assert interrupt_support_problem({"InstanceType": "m5.large", "Hypervisor": "nitro"}) == (
            f"EC2 names no processor architecture for m5.large; {NEEDED}")

    def test_no_hypervisor_on_a_virtualized_type_is_not_supported(self) -> None:
        described = {"InstanceType": "m5.large", "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]}}

        assert interrupt_support_problem(described) == f"m5.large runs on the unknown hypervisor; {NEEDED}"

    def test_a_mac_type_is_refused_by_its_name_too(self) -> None:
        described = {"InstanceType": "mac-m4.metal", "BareMetal": True,
                     "ProcessorInfo": {"Manufacturer": "Apple", "SupportedArchitectures": ["arm64"]}}

        assert (interrupt_support_problem(described) or "").startswith("mac-m4.metal is an EC2 Mac type")


def test_each_distinct_type_is_described_once_in_batches_of_100(ec2: Any, calls: Counter[str]) -> None:
    names = [entry["InstanceType"] for entry in ec2.describe_instance_types()["InstanceTypes"]][:150]
    calls.clear()

    answers = support_problems(ec2, names + names[:20])

    assert set(answers) == set(names)
    assert calls == {"DescribeInstanceTypes": 2}


def test_an_unknown_name_in_a_batch_does_not_hide_the_others(ec2: Any, calls: Counter[str]) -> None:
    answers = support_problems(ec2, ["m5.large", "x9.huge", "m7g.large"])

    assert answers["m5.large"] is None
    assert answers["x9.huge"] == "x9.huge is an instance type that EC2 does not describe"
    assert (answers["m7g.large"] or "").startswith("m7g.large is powered by an AWS Graviton (arm64) processor")
    assert calls == {"DescribeInstanceTypes": 1 + 3}  # the failed batch, then one name at a time


def test_no_types_means_no_call(ec2: Any, calls: Counter[str]) -> None:
    assert support_problems(ec2, []) == {}
    assert calls == {}


def test_other_describe_errors_propagate() -> None:
    client = aws_client("ec2")
    with Stubber(client) as stubber:
        client_error(stubber, "describe_instance_types", "UnauthorizedOperation")

        with pytest.raises(client.exceptions.ClientError, match="UnauthorizedOperation"):
            support_problems(client, ["m5.large"])
