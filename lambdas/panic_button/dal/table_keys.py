"""Item keys of the single remediation table: one state item per instance (lock and cooldown), one
item per execution (the record), one fleet item (the rolling rate-limit window), per storm window the
circuit breaker's alarm counter and the storm summary, and one item per collector command the workflow
waits for (its task token)."""

RECORD_INDEX = "by-time"
RECORD_INDEX_PK = "RUN"


def instance_key(instance_id: str, where: tuple[str, str] | None = None) -> dict[str, str]:
    # A member's instance (organization hub) is keyed by its account and Region too; this account's keep their key.
    scope = f"{where[0]}#{where[1]}#" if where else ""
    return {"pk": f"INSTANCE#{scope}{instance_id}", "sk": "STATE"}


def record_key(instance_id: str, requested_at_iso: str, execution_name: str) -> dict[str, str]:
    return {"pk": f"INSTANCE#{instance_id}", "sk": f"RUN#{requested_at_iso}#{execution_name}"}


FLEET_KEY = {"pk": "FLEET", "sk": "INTERRUPT_WINDOW"}


def fleet_key(where: tuple[str, str] | None) -> dict[str, str]:
    """The rate-limit window of a member account and Region, or this account's (and the organization-wide one)."""
    return FLEET_KEY if where is None else {"pk": f"FLEET#{where[0]}#{where[1]}", "sk": "INTERRUPT_WINDOW"}


def breaker_key(window_start: int) -> dict[str, str]:
    return {"pk": "FLEET", "sk": f"BREAKER#{window_start}"}


STORM_PREFIX = "STORM#"


def storm_key(window_start: int) -> dict[str, str]:
    return {"pk": "FLEET", "sk": f"{STORM_PREFIX}{window_start}"}
def command_wait_key(command_id: str) -> dict[str, str]:
    return {"pk": f"COMMAND#{command_id}", "sk": "WAIT"}
