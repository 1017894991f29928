"""Lambda (EventBridge target): record, release and notify for an execution that ended outside the workflow."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.aws import client
from panic_button.clock import utc_now
from panic_button.dal.guard_store import GuardStore
from panic_button.dal.record_store import RecordStore
from panic_button.logic.aborted_run import RecorderSettings, Services, record_aborted_run
from panic_button.models.execution_events import ExecutionStatusChange
from panic_button.observability import logger, metrics
from panic_button.settings import get_settings


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    change = ExecutionStatusChange.model_validate(event)
    logger.append_keys(execution_arn=change.detail.execution_arn)
    dynamodb = client("dynamodb")
    guards = GuardStore(dynamodb, settings.table_name, organization_wide=settings.guard_scope == "organization")
    result = record_aborted_run(
        change.detail,
        Services(sfn=client("stepfunctions"), ssm=client("ssm"), s3=client("s3"), sns=client("sns"),
                 records=RecordStore(dynamodb, settings.table_name), guards=guards),
        RecorderSettings(topic_arn=settings.topic_arn, bucket=settings.bucket_name,
                         evidence_prefix=settings.evidence_prefix, retention_days=settings.record_retention_days,
                         workflow_timeout_seconds=settings.workflow_timeout_seconds),
        now=utc_now(),
    )
    if result.outcome is None:
        logger.info("already recorded", extra={"status": change.detail.status})
        return {"outcome": None, "reason": result.reason}
    metrics.add_dimension(name="Outcome", value=result.outcome.value)
    metrics.add_metric(name="Remediations", unit=MetricUnit.Count, value=1)
    logger.warning("execution ended outside the workflow", extra={
        "status": change.detail.status, "outcome": result.outcome.value, "reason": result.reason,
        "instance_id": result.instance_id})
    return {"outcome": result.outcome.value, "reason": result.reason, "message_id": result.message_id}
