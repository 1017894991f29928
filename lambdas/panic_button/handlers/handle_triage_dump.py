"""Lambda: analyse the collected vmcore and triage its kernel log into report.json, report.md, a culprit line
and a three-line summary."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from panic_button.aws import client
from panic_button.handlers.step_io import parse_state, part
from panic_button.logic.dump_triage import triage_collected_dump
from panic_button.observability import logger
from panic_button.settings import get_settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = parse_state(event)
    if state.collection is None:
        raise ValueError("triage runs after the dump was collected")
    logger.append_keys(instance_id=state.require_target().instance_id)
    platform = state.instance.platform if state.instance else "linux"
    settings = get_settings()
    triage = triage_collected_dump(client("s3"), bucket=settings.bucket_name, collection=state.collection,
                                   platform=platform, max_dump_bytes=settings.analysis_max_dump_bytes,
                                   debuginfod_servers=settings.debuginfod_servers)
    logger.info("triage done", extra={"summary": triage.summary})
    return part(triage)
