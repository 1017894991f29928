"""Lambda (every minute, EventBridge schedule): publish the one summary of each storm window that ended."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.aws import client
from panic_button.clock import utc_now
from panic_button.dal.storm_store import StormStore
from panic_button.logic.storm_summary import publish_due_summaries
from panic_button.models.events import SummaryTick
from panic_button.observability import logger, metrics
from panic_button.settings import get_settings


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, tick = get_settings(), SummaryTick.model_validate(event)
    published = publish_due_summaries(StormStore(client("dynamodb"), settings.table_name), sns=client("sns"),
                                      topic_arn=settings.topic_arn, now=tick.time or utc_now(),
                                      window_seconds=settings.breaker_window_seconds)
    metrics.add_metric(name="StormSummaries", unit=MetricUnit.Count, value=len(published))
    for summary in published:
        logger.info("storm summary published", extra={"window": summary.window, "skips": summary.skips,
                                                       "message_id": summary.message_id})
    return {"published": [{"window": s.window, "skips": s.skips, "message_id": s.message_id} for s in published]}
