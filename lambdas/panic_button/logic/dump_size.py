"""A dump cannot be much bigger than the memory it was taken of: a larger reported size is a hostile or
broken instance, and would make the workflow sign URLs for terabytes."""

from typing import Any

from panic_button.errors import CollectionFailed

MIB = 1 << 20
# ELF headers and notes of a kdump vmcore, or the header pages of a Windows MEMORY.DMP, stay far below this.
HEADER_ALLOWANCE = 64 * MIB
SLACK = 1.02


def check_dump_fits_memory(ec2: Any, *, instance_type: str, dump_size: int) -> None:
    [described] = ec2.describe_instance_types(InstanceTypes=[instance_type])["InstanceTypes"]
    memory = int(described["MemoryInfo"]["SizeInMiB"]) * MIB
    limit = int(memory * SLACK) + HEADER_ALLOWANCE
    if dump_size > limit:
        raise CollectionFailed(f"the reported dump is {dump_size} bytes, more than a {instance_type}'s memory "
                               f"({memory} bytes) can produce: not collected")
