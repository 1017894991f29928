"""Presigned S3 URLs are authorized as their signer: the collector's manifest reads and part uploads go
through URLs a Lambda presigned, and AWS checks them against that Lambda's role (and the bucket and key
policies) when they are used. Each Lambda signs with its own access key id, so the URL names its role.

Replaced: moto's server entry (`DomainDispatcherApplication.__call__`) first looks at requests that carry
`X-Amz-Credential` in the query string (stock: served whoever signed them)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, unquote

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from panic_button_sandbox.iam.enforcement import IamEnforcement
from panic_button_sandbox.iam.operations import Call
from panic_button_sandbox.iam.wire_denials import WireError, s3_access_denied
from panic_button_sandbox.patches import Patches


def install_presigned_authorization(patches: Patches, iam: IamEnforcement) -> None:
    stock = DomainDispatcherApplication.__call__

    def call(self: DomainDispatcherApplication, environ: dict[str, Any],
             start_response: Callable[..., Any]) -> Iterable[bytes]:
        error = presigned_refusal(iam, environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""),
                                  environ.get("QUERY_STRING", ""),
                                  sse_kms_key_id=environ.get("HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION_AWS_KMS_KEY_ID"))
        if error is None:
            return stock(self, environ, start_response)  # type: ignore[no-any-return]
        start_response(f"{error.status} Forbidden", list(error.headers.items()))
        return [error.body]

    patches.replace(DomainDispatcherApplication, "__call__", call)


def presigned_refusal(iam: IamEnforcement, method: str, path: str, query_string: str, *,
                      sse_kms_key_id: str | None = None) -> WireError | None:
    """S3's answer to a presigned request its signer's role may not make; None when allowed or not ours.
    `sse_kms_key_id`: the request's x-amz-server-side-encryption-aws-kms-key-id (a write under its own key)."""
    query = {name: values[0] for name, values in parse_qs(query_string, keep_blank_values=True).items()}
    credential = query.get("X-Amz-Credential", "")
    identity = iam.identity_for_access_key(credential.split("/", 1)[0]) if credential else None
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    operation = presigned_operation(method, query) if key else None
    if identity is None or operation is None:
        return None
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if "versionId" in query:
        params["VersionId"] = query["versionId"]
    if "uploadId" in query:  # a part is encrypted under the key its upload was created with
        params["UploadId"] = query["uploadId"]
    if sse_kms_key_id:
        params["SSEKMSKeyId"] = sse_kms_key_id
    call = Call(service="s3", operation=operation, params=params, account=iam.state.account,
                region=iam.state.region, secure_transport=True)  # the collector reaches S3 over HTTPS
    refusal = iam.authorize(identity, call)
    if refusal is None:
        return None
    message = "Access Denied" if refusal.hidden_missing_key else refusal.decision.message()
    return s3_access_denied(message, head=method == "HEAD")


def presigned_operation(method: str, query: dict[str, str]) -> str | None:
    if method == "PUT":
        return "UploadPart" if "partNumber" in query and "uploadId" in query else "PutObject"
    if method == "POST":
        return "CreateMultipartUpload" if "uploads" in query else "CompleteMultipartUpload"
    return {"GET": "GetObject", "HEAD": "HeadObject",
            "DELETE": "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"}.get(method)
