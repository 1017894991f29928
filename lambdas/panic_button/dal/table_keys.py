"""Item keys of the single remediation table: one state item per instance (lock and cooldown), one
item per execution (the record), one fleet item (the rolling rate-limit window), and one item per collector
command the workflow waits for (its task token)."""

RECORD_INDEX = "by-time"
RECORD_INDEX_PK = "RUN"


def instance_key(instance_id: str) -> dict[str, str]:
    return {"pk": f"INSTANCE#{instance_id}", "sk": "STATE"}


def record_key(instance_id: str, requested_at_iso: str, execution_name: str) -> dict[str, str]:
    return {"pk": f"INSTANCE#{instance_id}", "sk": f"RUN#{requested_at_iso}#{execution_name}"}


FLEET_KEY = {"pk": "FLEET", "sk": "INTERRUPT_WINDOW"}


def command_wait_key(command_id: str) -> dict[str, str]:
    return {"pk": f"COMMAND#{command_id}", "sk": "WAIT"}
