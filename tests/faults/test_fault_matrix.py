"""The bar of the fault model: every scenario in examples/ gives the same outcome, the same number of
interrupts, the same artifacts, one record and one notification under throttle=0.3,error5xx=0.05 as without
faults (seeded: a failure names its seed and repeats with it)."""

from __future__ import annotations

import dataclasses

import pytest

from panic_button_sandbox.instances import InstanceSpec
from tests.faults.conftest import Deployed
from tests.faults.matrix import HOSTILE, departures, described, example_specs, observed
from tests.topic_subscriber import Topic

# The 300 MiB dump costs a minute under faults; `make bench` runs it (bench/fault_matrix.py).
SUITE = {name: spec for name, spec in example_specs().items() if name != "ubuntu-large-dump"}
SEED = 1


@pytest.mark.parametrize("name", sorted(SUITE))
def test_an_example_ends_the_same_under_throttling_and_server_errors(deployed: Deployed, topic: Topic,
                                                                     name: str) -> None:
    spec: InstanceSpec = SUITE[name]
    calm, _ = observed(deployed, topic, spec, dataclasses.replace(HOSTILE, throttle=0.0, error5xx=0.0))
    hostile, injected = observed(deployed, topic, spec, dataclasses.replace(HOSTILE, seed=SEED))
    assert injected, "the fault matrix injected no fault"
    assert calm["notifications"] == 1
    assert departures(calm, hostile, injected) == {}, f"seed {SEED}, faults injected: {described(injected)}"
