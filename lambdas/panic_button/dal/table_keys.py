"""Item keys of the single remediation table: one state item per instance (lock and cooldown), one
item per execution (the record), and one fleet item (the rolling rate-limit window)."""

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
