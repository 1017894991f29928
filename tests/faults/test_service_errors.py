"""Each injected error is what the service sends: botocore parses its code, and its standard retry mode
classifies it as throttling or a transient error, as it does AWS's."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser
from botocore.retries.standard import RetryContext, ThrottledRetryableChecker, TransientRetryableChecker

from panic_button_sandbox.faults.service_errors import Kind, service_error

# (botocore service, signing name, operation, throttling code)
SERVICES = [
    ("ec2", "ec2", "SendDiagnosticInterrupt", "RequestLimitExceeded"),
    ("s3", "s3", "PutObject", "SlowDown"),
    ("dynamodb", "dynamodb", "UpdateItem", "ProvisionedThroughputExceededException"),
    ("lambda", "lambda", "Invoke", "TooManyRequestsException"),
    ("sns", "sns", "Publish", "Throttling"),
    ("cloudwatch", "monitoring", "PutMetricAlarm", "Throttling"),
    ("ssm", "ssm", "SendCommand", "ThrottlingException"),
    ("stepfunctions", "states", "GetExecutionHistory", "ThrottlingException"),
    ("events", "events", "PutEvents", "ThrottlingException"),
]
_SESSION = botocore.session.get_session()


def parsed(service: str, operation: str, signing: str, kind: Kind) -> tuple[int, dict[str, object]]:
    model = _SESSION.get_service_model(service).operation_model(operation)
    error = service_error(signing, kind, cbor=model.service_model.resolved_protocol == "smithy-rpc-v2-cbor")
    parser = create_parser(model.service_model.resolved_protocol)
    return error.status, parser.parse({"status_code": error.status, "headers": HeadersDict(error.headers),
                                       "body": error.body}, model.output_shape)


@pytest.mark.parametrize(("service", "signing", "operation", "code"), SERVICES)
def test_throttling_is_the_services_own_code_and_retried_as_throttling(service: str, signing: str, operation: str,
                                                                      code: str) -> None:
    status, response = parsed(service, operation, signing, "throttle")
    assert response["Error"]["Code"] == code  # type: ignore[index]
    context = RetryContext(attempt_number=1, parsed_response=response)
    assert ThrottledRetryableChecker().is_retryable(context), (status, response)


@pytest.mark.parametrize(("service", "signing", "operation", "code"), SERVICES)
@pytest.mark.parametrize("kind", ["500", "503"])
def test_a_server_error_is_retried_as_transient(service: str, signing: str, operation: str, code: str,
                                                kind: Kind) -> None:
    status, response = parsed(service, operation, signing, kind)
    assert status == int(kind)
    assert response["Error"]["Code"] not in {"", code}  # type: ignore[index]

    class _Status:
        status_code = status

    context = RetryContext(attempt_number=1, parsed_response=response, http_response=_Status())  # type: ignore[arg-type]
    assert TransientRetryableChecker().is_retryable(context)
