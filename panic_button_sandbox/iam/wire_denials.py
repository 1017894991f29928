"""A denied call answered the way AWS answers it on the wire: status, headers and body per protocol and
service, then parsed by botocore's own parser, so the handler meets exactly the ClientError AWS causes.

Shapes, as AWS sends them:
- S3 (rest-xml): 403 `<Error><Code>AccessDenied</Code>...`; HEAD requests carry no body (botocore: "403").
- EC2: 403 `<Response><Errors><Error><Code>UnauthorizedOperation</Code>` with "You are not authorized to
  perform this operation. User: ... Encoded authorization failure message: ...".
- SNS (query): 403 `AuthorizationError`; other query services 403 `AccessDenied`.
- JSON services (DynamoDB, SSM, SQS, KMS, ...): 400 `AccessDeniedException`.
- CloudWatch (smithy-rpc-v2-cbor, query-compatible): 403 `AccessDenied` in CBOR plus `x-amzn-query-error`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.model import OperationModel
from botocore.parsers import create_parser

_FORBIDDEN = 403
_BAD_REQUEST = 400


@dataclass(frozen=True)
class WireError:
    status: int
    headers: dict[str, str]
    body: bytes


def s3_access_denied(message: str, *, head: bool) -> WireError:
    request_id = new_request_id()
    if head:
        return WireError(_FORBIDDEN, {"x-amz-request-id": request_id}, b"")
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
            f"<Message>{escape(message)}</Message><RequestId>{request_id}</RequestId>"
            f"<HostId>{base64.b64encode(hashlib.sha256(request_id.encode()).digest()).decode()}</HostId></Error>")
    return WireError(_FORBIDDEN, {"Content-Type": "application/xml", "x-amz-request-id": request_id}, body.encode())


def denial_for(operation: OperationModel, message: str) -> WireError:
    """The AccessDenied answer of the operation's service, for `message` (IAM's sentence)."""
    service = operation.service_model.service_name
    protocol = operation.service_model.resolved_protocol
    request_id = new_request_id()
    if service == "s3":
        return s3_access_denied(message, head=operation.http.get("method") == "HEAD")
    if protocol == "ec2":
        encoded = base64.b64encode(message.encode()).decode()
        text = (f"You are not authorized to perform this operation. {message}. "
                f"Encoded authorization failure message: {encoded}")
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>UnauthorizedOperation'
                f"</Code><Message>{escape(text)}</Message></Error></Errors><RequestID>{request_id}</RequestID>"
                f"</Response>")
        return WireError(_FORBIDDEN, {"Content-Type": "text/xml;charset=UTF-8"}, body.encode())
    if protocol == "query":
        code = "AuthorizationError" if service == "sns" else "AccessDenied"
        body = (f'<ErrorResponse xmlns="{operation.service_model.metadata.get("xmlNamespace", "")}"><Error>'
                f"<Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>")
        return WireError(_FORBIDDEN, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body.encode())
    query_compatible = "awsQueryCompatible" in operation.service_model.metadata
    if query_compatible and protocol in {"json", "smithy-rpc-v2-cbor"}:
        return _query_compatible(protocol, message, request_id)
    text = json.dumps({"__type": "com.amazon.coral.service#AccessDeniedException", "Message": message})
    return WireError(_BAD_REQUEST, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": request_id,
                                    "x-amzn-ErrorType": "AccessDeniedException:"}, text.encode())


def _query_compatible(protocol: str, message: str, request_id: str) -> WireError:
    """Services moved off the query protocol (CloudWatch) keep its error codes and statuses: 403 AccessDenied,
    named in the `x-amzn-query-error` header."""
    headers = {"x-amzn-query-error": "AccessDenied;Sender", "x-amzn-RequestId": request_id}
    if protocol == "json":
        body = json.dumps({"__type": "com.amazonaws.cloudwatch#AccessDenied", "message": message}).encode()
        return WireError(_FORBIDDEN, {**headers, "Content-Type": "application/x-amz-json-1.0"}, body)
    headers.update({"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"})
    return WireError(_FORBIDDEN, headers, cbor_text_map({"__type": "AccessDenied", "message": message}))


def as_botocore_response(operation: OperationModel, error: WireError, url: str) -> tuple[AWSResponse, dict[str, Any]]:
    """What a `before-call` handler returns to stand in for the HTTP exchange: (response, parsed)."""
    headers = HeadersDict(error.headers)
    parser = create_parser(operation.service_model.resolved_protocol)
    parsed: dict[str, Any] = parser.parse(
        {"status_code": error.status, "headers": headers, "body": error.body}, operation.output_shape
    )
    response = AWSResponse(url, error.status, headers, _Raw(error.body))
    return response, parsed


class _Raw:
    """The raw stream AWSResponse reads its content from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *_: Any, **__: Any) -> Any:
        yield self._body


def new_request_id() -> str:
    return str(uuid.uuid4())


def cbor_text_map(items: dict[str, str]) -> bytes:
    """CBOR (RFC 8949) of a map of text strings: all an error body holds."""
    return _cbor_head(5, len(items)) + b"".join(_cbor_text(k) + _cbor_text(v) for k, v in items.items())


def _cbor_text(text: str) -> bytes:
    data = text.encode()
    return _cbor_head(3, len(data)) + data


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if length < 1 << (8 * size):
            return bytes([major << 5 | info]) + length.to_bytes(size, "big")
    raise ValueError("text too long for CBOR")
