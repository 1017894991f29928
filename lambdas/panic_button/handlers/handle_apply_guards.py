"""Lambda: take the per-instance lock, honour the cooldown and the fleet rate limit."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.aws import client
from panic_button.clock import utc_now
from panic_button.dal.breaker_store import BreakerStore
from panic_button.dal.guard_store import GuardStore
from panic_button.dal.record_store import RecordStore
from panic_button.handlers.step_io import parse_state, part
from panic_button.logic.guards import Breaker, apply_guards
from panic_button.observability import logger
from panic_button.settings import get_settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, state = get_settings(), parse_state(event)
    target = state.require_target()
    logger.append_keys(instance_id=target.instance_id)
    guard = apply_guards(
        GuardStore(client("dynamodb"), settings.table_name,
                   organization_wide=settings.guard_scope == "organization").for_target(target),
        target,
        owner=state.execution.name,
        now=utc_now(),
        cooldown_seconds=settings.cooldown_seconds,
        rate_limit=settings.rate_limit_per_hour,
        lock_seconds=settings.lock_lifetime_seconds,
        breaker=Breaker(BreakerStore(client("dynamodb"), settings.table_name), alarms=settings.breaker_alarms,
                        window_seconds=settings.breaker_window_seconds),
        records=RecordStore(client("dynamodb"), settings.table_name),
    )
    logger.info("guards passed", extra={"dry_run": guard.dry_run})
    return part(guard)
