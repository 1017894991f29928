"""The fault SPEC: what it accepts, and the clear error for what it does not (the CLI answers exit code 2)."""

from __future__ import annotations

import pytest

from panic_button_cli.main import main
from panic_button_sandbox.faults.spec import FaultSpec, FaultSpecError, parse_fault_spec


def test_the_issues_spec_reads_as_its_rates() -> None:
    spec = parse_fault_spec("throttle=0.3, error5xx=0.05,lambda=0.1,s3-part=0.2,ssm-offline-at=upload", seed=7)
    assert spec == FaultSpec(throttle=0.3, error5xx=0.05, lambda_error=0.1, s3_part=0.2, ssm_offline_at="upload",
                             seed=7)
    assert spec.describe() == "throttle=0.3,error5xx=0.05,lambda=0.1,s3-part=0.2,ssm-offline-at=upload"


@pytest.mark.parametrize(("text", "message"), [
    ("throttle", "'throttle' is not name=value"),
    ("thottle=0.3", "unknown fault 'thottle'"),
    ("throttle=lots", "throttle=lots is not a number"),
    ("error5xx=1.5", "error5xx=1.5 is not a probability from 0 to 1"),
    ("throttle=0.1,throttle=0.2", "throttle is given twice"),
    ("ssm-offline-at=locate", "ssm-offline-at=locate: the agent can drop at upload"),
    ("", "'' is not name=value"),
])
def test_a_bad_spec_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(FaultSpecError, match="^" + message.replace("(", r"\(").replace(".", r"\.")):
        parse_fault_spec(text)


def test_simulate_refuses_a_bad_spec_before_the_sandbox_starts(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "--instance", "examples/linux.json", "--event", "examples/alarm-event.json",
                 "--faults", "throttle=0.3,errors=0.05", "--cdk-out", "/nonexistent"])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "error: --faults throttle=0.3,errors=0.05: unknown fault 'errors' (names: throttle, error5xx, lambda, s3-part, "
        "ssm-offline-at); e.g. --faults throttle=0.3,error5xx=0.05")
