"""One place that creates the Powertools logger, tracer and metrics every handler uses."""

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "panic-button"
NAMESPACE = "PanicButton"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
