"""Can an instance type take a diagnostic interrupt? One rule, read from DescribeInstanceTypes, shared by
eligibility, the alarm manager and `panic-button readiness`.

EC2 user guide: "Diagnostic interrupt is supported on all Nitro-based instance types, except those powered
by AWS Graviton processors." So: x86_64 and Nitro, or x86_64 bare metal (no Hypervisor field). Mac types
are refused too: EC2 does not document diagnostic interrupts for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from panic_button.aws import error_code

DESCRIBE_TYPES_BATCH = 100  # DescribeInstanceTypes takes at most 100 names a call
_NEEDED = "diagnostic interrupts need x86_64 Nitro"


def interrupt_support_problem(described: Mapping[str, Any]) -> str | None:
    """Why the type of this DescribeInstanceTypes entry cannot take a diagnostic interrupt, or None.
    The reason names the type and, when the processor is the problem, the processor."""
    name = str(described.get("InstanceType", "this instance type"))
    processor = described.get("ProcessorInfo", {})
    architectures = [str(a) for a in processor.get("SupportedArchitectures", [])]
    manufacturer = str(processor.get("Manufacturer", ""))
    if name.startswith("mac") or any(a.endswith("_mac") for a in architectures):
        return (f"{name} is an EC2 Mac type with {_processor(manufacturer, architectures)}; "
                "EC2 does not document diagnostic interrupts on Mac instances")
    if not architectures:
        return f"EC2 names no processor architecture for {name}; {_NEEDED}"
    if "x86_64" not in architectures:
        return f"{name} is powered by {_processor(manufacturer, architectures)}; {_NEEDED}"
    if described.get("BareMetal"):
        return None  # bare metal has no hypervisor, and the interrupt goes through Nitro hardware
    hypervisor = described.get("Hypervisor")
    if hypervisor != "nitro":
        return f"{name} runs on the {hypervisor or 'unknown'} hypervisor; {_NEEDED}"
    return None


def support_problems(ec2: Any, instance_types: Iterable[str]) -> dict[str, str | None]:
    """The rule for each distinct type, in ceil(types / 100) DescribeInstanceTypes calls (more only when a
    batch holds a name EC2 does not know)."""
    names = sorted(set(instance_types))
    described: dict[str, dict[str, Any]] = {}
    for start in range(0, len(names), DESCRIBE_TYPES_BATCH):
        described.update(_describe(ec2, names[start:start + DESCRIBE_TYPES_BATCH]))
    return {name: interrupt_support_problem(described[name]) if name in described
            else f"{name} is an instance type that EC2 does not describe" for name in names}


def _describe(ec2: Any, names: list[str]) -> dict[str, dict[str, Any]]:
    try:
        pages = ec2.get_paginator("describe_instance_types").paginate(InstanceTypes=names)
        return {entry["InstanceType"]: entry for page in pages for entry in page["InstanceTypes"]}
    except Exception as error:
        # One unknown name fails the whole call: ask for each name alone to learn which.
        if error_code(error) != "InvalidInstanceType":
            raise
        if len(names) == 1:
            return {}
        return {found: entry for name in names for found, entry in _describe(ec2, [name]).items()}


def _processor(manufacturer: str, architectures: list[str]) -> str:
    """"an AWS Graviton (arm64) processor", "an Apple (arm64_mac) processor"."""
    kind = "AWS Graviton" if manufacturer == "AWS" and "arm64" in architectures else manufacturer or "unknown"
    article = "an" if kind[0].lower() in "aeiou" else "a"
    return f"{article} {kind} ({'/'.join(architectures) or 'unknown architecture'}) processor"
