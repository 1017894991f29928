"""Lambda: decide the outcome, write the record, release the guards, notify, and count it."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.aws import client
from panic_button.clock import utc_now
from panic_button.dal.breaker_store import BreakerStore
from panic_button.dal.guard_store import GuardStore
from panic_button.dal.record_store import RecordStore
from panic_button.dal.storm_store import StormStore
from panic_button.handlers.step_io import parse_state
from panic_button.logic.outcome import decide_outcome
from panic_button.logic.reporting import report
from panic_button.logic.storm import StormControl
from panic_button.observability import logger, metrics
from panic_button.settings import get_settings


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, state = get_settings(), parse_state(event)
    decision = decide_outcome(state)
    reported = report(
        state, decision,
        records=RecordStore(client("dynamodb"), settings.table_name),
        guards=GuardStore(client("dynamodb"), settings.table_name,
                          organization_wide=settings.guard_scope == "organization").for_target(state.target),
        sns=client("sns"), topic_arn=settings.topic_arn, now=utc_now(),
        retention_days=settings.record_retention_days,
        storm=StormControl(StormStore(client("dynamodb"), settings.table_name),
                           BreakerStore(client("dynamodb"), settings.table_name),
                           window_seconds=settings.breaker_window_seconds),
    )
    metrics.add_dimension(name="Outcome", value=decision.outcome.value)
    metrics.add_metric(name="Remediations", unit=MetricUnit.Count, value=1)
    logger.append_keys(instance_id=reported.record.instance_id)
    logger.info("remediation finished", extra={"outcome": decision.outcome.value, "reason": decision.reason})
    return {
        "outcome": decision.outcome.value,
        "reason": decision.reason,
        "failed": decision.outcome.value == "WORKFLOW_FAILED",
        "message_id": reported.message_id,
    }
