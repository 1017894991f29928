"""The errors a fault is answered with, as each service sends them on the wire (status, headers, body), so the
caller's SDK parses and retries them exactly as it would AWS's. Keyed by the SigV4 signing name of the call.

Throttling, per service: EC2 503 `RequestLimitExceeded`; S3 503 `SlowDown`; DynamoDB 400
`ProvisionedThroughputExceededException`; Lambda 429 `TooManyRequestsException`; SNS and CloudWatch 400
`Throttling`; the other JSON services (Step Functions, SSM, EventBridge, KMS, ...) 400 `ThrottlingException`.
Server errors: 500 or 503 in the service's own words (`InternalError`, `ServiceUnavailable`,
`InternalServerError`, Lambda's `ServiceException`, CloudWatch's `InternalServiceError`)."""

from __future__ import annotations

import json
from typing import Literal
from xml.sax.saxutils import escape

from panic_button_sandbox.iam.wire_denials import WireError, cbor_text_map, new_request_id

Kind = Literal["throttle", "500", "503"]
_THROTTLE_MESSAGE = "Rate exceeded"
_XML = {"Content-Type": "application/xml"}

# service -> kind -> (status, code)
_CODES: dict[str, dict[Kind, tuple[int, str]]] = {
    "ec2": {"throttle": (503, "RequestLimitExceeded"), "500": (500, "InternalError"), "503": (503, "Unavailable")},
    "s3": {"throttle": (503, "SlowDown"), "500": (500, "InternalError"), "503": (503, "ServiceUnavailable")},
    "dynamodb": {"throttle": (400, "ProvisionedThroughputExceededException"), "500": (500, "InternalServerError"),
                 "503": (503, "ServiceUnavailable")},
    "lambda": {"throttle": (429, "TooManyRequestsException"), "500": (500, "ServiceException"),
               "503": (503, "ServiceException")},
    "sns": {"throttle": (400, "Throttling"), "500": (500, "InternalError"), "503": (503, "ServiceUnavailable")},
    "monitoring": {"throttle": (400, "Throttling"), "500": (500, "InternalServiceError"),
                   "503": (503, "ServiceUnavailable")},
}
_JSON_DEFAULT: dict[Kind, tuple[int, str]] = {"throttle": (400, "ThrottlingException"),
                                              "500": (500, "InternalServerError"), "503": (503, "ServiceUnavailable")}
_QUERY_XML = {"sns", "sts", "cloudformation", "iam"}


def error_code(service: str, kind: Kind) -> str:
    return _CODES.get(service, _JSON_DEFAULT)[kind][1]


def service_error(service: str, kind: Kind, *, head: bool = False, cbor: bool = True) -> WireError:
    """`cbor`: for CloudWatch, whether the request came in smithy-rpc-v2-cbor (else awsJson1_0)."""
    status, code = _CODES.get(service, _JSON_DEFAULT)[kind]
    message = _THROTTLE_MESSAGE if kind == "throttle" else "We encountered an internal error. Please try again."
    request_id = new_request_id()
    if service == "s3":
        body = b"" if head else (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>'
                                 f"{escape(message)}</Message><RequestId>{request_id}</RequestId></Error>").encode()
        return WireError(status, {**_XML, "x-amz-request-id": request_id}, body)
    if service == "ec2":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code><Message>'
                f"{escape(message)}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>").encode()
        return WireError(status, {"Content-Type": "text/xml;charset=UTF-8"}, body)
    if service in _QUERY_XML:
        side = "Sender" if kind == "throttle" else "Receiver"
        body = (f"<ErrorResponse><Error><Type>{side}</Type><Code>{code}</Code><Message>{escape(message)}</Message>"
                f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>").encode()
        return WireError(status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body)
    if service == "monitoring":
        return _cloudwatch_error(status, code, message, sender=kind == "throttle", cbor=cbor)
    if service == "lambda":  # rest-json: the code is the x-amzn-ErrorType header
        document = {"Type": "User" if kind == "throttle" else "Service", "message": message}
        return WireError(status, {"Content-Type": "application/json", "x-amzn-RequestId": request_id,
                                  "x-amzn-ErrorType": code}, json.dumps(document).encode())
    prefix = "com.amazonaws.dynamodb.v20120810#" if service == "dynamodb" else ""
    return WireError(status, {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": request_id},
                     json.dumps({"__type": f"{prefix}{code}", "message": message}).encode())


def _cloudwatch_error(status: int, code: str, message: str, *, sender: bool, cbor: bool) -> WireError:
    """Query-compatible (smithy-rpc-v2-cbor or awsJson1_0): the code rides in x-amzn-query-error."""
    headers = {"x-amzn-query-error": f"{code};{'Sender' if sender else 'Receiver'}",
               "x-amzn-RequestId": new_request_id()}
    if not cbor:
        return WireError(status, {**headers, "Content-Type": "application/x-amz-json-1.0"}, json.dumps(
            {"__type": f"com.amazonaws.cloudwatch#{code}", "message": message}).encode())
    return WireError(status, {**headers, "smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"},
                     cbor_text_map({"__type": code, "message": message}))
