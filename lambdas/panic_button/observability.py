"""One place that creates the Powertools logger and metrics every handler uses.

No tracer: X-Ray comes from Lambda's active tracing (TracingConfig Active, set in infra) and the state
machine's tracing, which record every invocation and its duration. The X-Ray SDK that a Powertools Tracer
loads on construction cost more than half a bare `import boto3` on every cold start, for subsegments of
AWS calls the Lambda segment already times as a whole (docs/decisions.md)."""

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics

SERVICE = "panic-button"
NAMESPACE = "PanicButton"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
