"""S3's checksum checks that the collection protocol relies on, which moto 5.2.5 lacks (pinned by
tests/sandbox/test_sandbox_moto_canaries.py):

- a presigned request carrying an `x-amz-checksum-*` header its URL did not sign is refused, 403
  AccessDenied "There were headers present in the request which were not signed" (HeadersNotSigned);
- a presigned request whose SigV4 signature does not match (a signed header missing or altered, the
  URL edited) or which has expired is refused, 403 SignatureDoesNotMatch / AccessDenied "Request has
  expired" (moto checks no signature at all). Only URLs signed with the sandbox's own secret key
  (`testing`) can be checked: others pass as in stock moto;
- an object or part whose bytes do not match its `x-amz-checksum-sha256` is refused, 400 BadDigest;
- CompleteMultipartUpload answers the composite checksum it computed from the parts, `<base64>-<N>`,
  and HeadObject with ChecksumMode=ENABLED gives that same `<base64>-<N>` for a multipart object.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote, urlsplit
from xml.sax.saxutils import escape

from moto.s3.responses import S3Response

from panic_button_sandbox.patches import Patches

_CHECKED_PREFIXES = ("x-amz-checksum-", "x-amz-sdk-checksum-")
SANDBOX_SECRET_KEY = "testing"  # panic_button_sandbox.server and presigning sign with it


def install_s3_checksums(patches: Patches) -> None:
    """Idempotent: a second install (a sandbox started inside a patched test) changes nothing."""
    if getattr(S3Response._key_response_put, "panic_button_checks", False):
        return
    stock_put = S3Response._key_response_put
    stock_get = S3Response._key_response_get
    stock_post = S3Response._key_response_post
    stock_head = S3Response.head_object

    def key_response_put(self: S3Response, query: dict[str, Any], key_name: str) -> Any:
        refused = _refused_presigned_headers(self, query) or _bad_signature(self, query) or _bad_digest(self)
        return refused or stock_put(self, query, key_name)

    def key_response_get(self: S3Response, query: dict[str, Any], key_name: str) -> Any:
        refused = _refused_presigned_headers(self, query) or _bad_signature(self, query)
        return refused or stock_get(self, query, key_name)

    def key_response_post(self: S3Response, *args: Any) -> Any:  # moto's (request, body, bucket, query, key)
        _, _, bucket_name, query, key_name = args
        multipart = self.backend.get_bucket(bucket_name).multiparts.get((query.get("uploadId") or [""])[0])
        answer = stock_post(self, *args)
        if multipart is None or not isinstance(answer, tuple) or answer[0] != 200:
            return answer
        key = self.backend.get_object(bucket_name, key_name)
        if key is None or not key.checksum_value or key.checksum_algorithm != "SHA256":
            return answer
        status, headers, text = answer
        element = f"<ChecksumSHA256>{key.checksum_value}-{key.checksum_parts}</ChecksumSHA256>"
        text = text.decode() if isinstance(text, bytes) else text
        return status, headers, text.replace("</CompleteMultipartUploadResult>",
                                             element + "<ChecksumType>COMPOSITE</ChecksumType>"
                                             "</CompleteMultipartUploadResult>")

    def head_object(self: S3Response, bucket_name: str, query: dict[str, Any], key_name: str,
                    headers: dict[str, Any]) -> Any:
        answer = stock_head(self, bucket_name, query, key_name, headers)
        if headers.get("x-amz-checksum-mode") != "ENABLED" or not isinstance(answer, tuple) or answer[0] != 200:
            return answer
        key = self.backend.get_object(bucket_name, key_name)
        if key is None or not key.checksum_value or key.checksum_algorithm != "SHA256" or not key.checksum_parts:
            return answer
        status, response_headers, body = answer
        return status, {**response_headers, "x-amz-checksum-sha256": f"{key.checksum_value}-{key.checksum_parts}",
                        "x-amz-checksum-type": "COMPOSITE"}, body

    for patched in (key_response_put, key_response_get, key_response_post, head_object):
        setattr(patched, "panic_button_checks", True)  # noqa: B010  # marks the installed checks
    patches.replace(S3Response, "_key_response_put", key_response_put)
    patches.replace(S3Response, "_key_response_get", key_response_get)
    patches.replace(S3Response, "_key_response_post", key_response_post)
    patches.replace(S3Response, "head_object", head_object)


def _refused_presigned_headers(response: S3Response, query: dict[str, Any]) -> Any:
    if "X-Amz-Signature" not in query:
        return None
    signed = set((query.get("X-Amz-SignedHeaders") or [""])[0].lower().split(";"))
    present = {str(name).lower() for name in dict(response.headers)}
    unsigned = sorted(h for h in present if h.startswith(_CHECKED_PREFIXES) and h not in signed)
    if unsigned:
        return _error(403, "AccessDenied", "There were headers present in the request which were not signed",
                      f"<HeadersNotSigned>{escape(', '.join(unsigned))}</HeadersNotSigned>")
    missing = sorted(h for h in signed - present if h != "host")
    if missing:
        return _error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                      "signature you provided. Check your key and signing method.")
    return None


def presigned_signature_valid(method: str, url: str, headers: dict[str, str], now: datetime | None = None) -> bool:
    """Whether S3 would accept this presigned SigV4 request, signed with the sandbox's secret key: the
    signature over method, path, query and the signed headers, and the expiry."""
    parts = urlsplit(url)
    pairs = [(unquote(k), unquote(v)) for k, _, v in (item.partition("=") for item in parts.query.split("&") if item)]
    query = dict(pairs)
    if "X-Amz-Signature" not in query:
        return False
    signed_names = query.get("X-Amz-SignedHeaders", "").split(";")
    lowered = {k.lower(): " ".join(v.split()) for k, v in headers.items()}
    if any(name not in lowered for name in signed_names):
        return False
    issued = datetime.strptime(query.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if (now or datetime.now(UTC)) > issued + timedelta(seconds=int(query.get("X-Amz-Expires", "0"))):
        return False
    canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                               for k, v in sorted(pairs) if k != "X-Amz-Signature")
    canonical = "\n".join([method, parts.path, canonical_query,
                           "".join(f"{name}:{lowered[name]}\n" for name in signed_names),
                           ";".join(signed_names), "UNSIGNED-PAYLOAD"])
    _, date, region, service, _ = query.get("X-Amz-Credential", "////").split("/")
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", query["X-Amz-Date"], scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{SANDBOX_SECRET_KEY}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, query["X-Amz-Signature"])


def _bad_signature(response: S3Response, query: dict[str, Any]) -> Any:
    if "X-Amz-Signature" not in query:
        return None
    environ = response.request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    url = f"http://{response.headers.get('Host', '')}{raw}"
    headers = {str(k): str(v) for k, v in dict(response.headers).items()}
    if presigned_signature_valid(response.method, url, headers):
        return None
    return _error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                  "signature you provided. Check your key and signing method.")


def _bad_digest(response: S3Response) -> Any:
    claimed = response.headers.get("x-amz-checksum-sha256")
    if claimed is None:
        return None
    body = response.body if isinstance(response.body, bytes) else bytes(response.body or b"")
    if base64.b64encode(hashlib.sha256(body).digest()).decode() == claimed:
        return None
    return _error(400, "BadDigest", "The SHA256 you specified did not match the calculated checksum.")


def _error(status: int, code: str, message: str, extra: str = "") -> tuple[int, dict[str, str], str]:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            f"{extra}<RequestId>sandbox</RequestId></Error>")
    return status, {"Content-Type": "application/xml"}, body
