"""The fault SPEC of `panic-button simulate --faults` and `Sandbox(faults=...)`: what fails, how often.

SPEC is a comma-separated list of `name=value`; the names and their meaning are in docs/simulation.md."""

from __future__ import annotations

from dataclasses import dataclass

OFFLINE_MOMENTS = ("upload",)
_RATES = {"throttle": "throttle", "error5xx": "error5xx", "lambda": "lambda_error", "s3-part": "s3_part"}
_NAMES = (*_RATES, "ssm-offline-at")


class FaultSpecError(ValueError):
    """A SPEC that cannot be read: the message names the item and what is allowed."""


@dataclass(frozen=True)
class FaultSpec:
    throttle: float = 0.0  # share of calls answered with the service's own throttling error
    error5xx: float = 0.0  # share of calls answered with a 500/503 (before or after the service applied it)
    lambda_error: float = 0.0  # share of Step Functions' Lambda invokes answered Lambda.ServiceException
    s3_part: float = 0.0  # share of the collector's part uploads that fail
    ssm_offline_at: str | None = None  # "upload": the SSM agent drops while the dump uploads
    seed: int = 0

    @property
    def any(self) -> bool:
        return bool(self.throttle or self.error5xx or self.lambda_error or self.s3_part or self.ssm_offline_at)

    def describe(self) -> str:
        items = [f"{name}={getattr(self, field):g}" for name, field in _RATES.items() if getattr(self, field)]
        if self.ssm_offline_at:
            items.append(f"ssm-offline-at={self.ssm_offline_at}")
        return ",".join(items) or "none"


def parse_fault_spec(text: str, *, seed: int = 0) -> FaultSpec:
    """`throttle=0.3,error5xx=0.05` -> FaultSpec; FaultSpecError for anything else."""
    values: dict[str, float | str] = {}
    for item in (part.strip() for part in text.split(",")):
        name, equals, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not equals or not name or not value:
            raise FaultSpecError(f"{item!r} is not name=value (names: {', '.join(_NAMES)})")
        if name not in _NAMES:
            raise FaultSpecError(f"unknown fault {name!r} (names: {', '.join(_NAMES)})")
        if name in values:
            raise FaultSpecError(f"{name} is given twice")
        if name == "ssm-offline-at":
            if value not in OFFLINE_MOMENTS:
                raise FaultSpecError(f"ssm-offline-at={value}: the agent can drop at {', '.join(OFFLINE_MOMENTS)}")
            values["ssm_offline_at"] = value
            continue
        values[_RATES[name]] = _probability(name, value)
    return FaultSpec(seed=seed, **values)  # type: ignore[arg-type]


def _probability(name: str, value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        raise FaultSpecError(f"{name}={value} is not a number; give a probability from 0 to 1") from None
    if not 0.0 <= rate <= 1.0:
        raise FaultSpecError(f"{name}={value} is not a probability from 0 to 1")
    return rate
