"""S3 server access logs for the buckets whose LoggingConfiguration the deployer saw. S3 writes each
request's Request-URI into a log object of the target bucket, a presigned URL's query (its signature)
included, so whoever reads the log bucket holds every URL the collector used. The sandbox logs the
presigned requests (the only ones whose URI carries a signature: the Lambdas sign in headers), one object
each and at once (S3 batches them and delivers within hours). tests/workflow/test_no_live_urls.py then
finds them with every other object and tries each URL."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.s3.models import s3_backends

from panic_button_sandbox.patches import Patches


class AccessLogs:
    def __init__(self, account_id: str) -> None:
        self._account_id = account_id
        self._targets: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()
        self.delivered = 0

    def configure(self, bucket: str, target_bucket: str, prefix: str) -> None:
        with self._lock:
            self._targets[bucket] = (target_bucket, prefix)

    def install(self, patches: Patches) -> None:
        """Wrap the server's entry (outside the presigned authorization: refused requests are logged too)."""
        stock = DomainDispatcherApplication.__call__
        logs = self

        def call(app: Any, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            query = environ.get("QUERY_STRING", "")
            bucket = unquote(environ.get("PATH_INFO", "")).lstrip("/").partition("/")[0]
            with logs._lock:
                target = logs._targets.get(bucket)
            if target is None or "X-Amz-Signature=" not in query:
                return stock(app, environ, start_response)  # type: ignore[no-any-return]
            statuses: list[str] = []

            def recording(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
                statuses.append(status.split(" ", 1)[0])
                return start_response(status, headers, *rest)

            body = stock(app, environ, recording)
            logs._deliver(target, bucket, environ, statuses[0] if statuses else "-")
            return body  # type: ignore[no-any-return]

        patches.replace(DomainDispatcherApplication, "__call__", call)

    def _deliver(self, target: tuple[str, str], bucket: str, environ: dict[str, Any], status: str) -> None:
        target_bucket, prefix = target
        now = datetime.now(UTC)
        path, query = environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")
        method = environ.get("REQUEST_METHOD", "-")
        key = unquote(path).lstrip("/").partition("/")[2] or "-"
        request_id = secrets.token_hex(8).upper()
        # S3's log record format, its fields in its order; the sandbox fills those it knows, "-" the rest.
        host = environ.get("HTTP_HOST", "-")
        line = (f"{self._account_id} {bucket} [{now.strftime('%d/%b/%Y:%H:%M:%S +0000')}] 127.0.0.1 - "
                f"{request_id} REST.{method}.OBJECT {key} \"{method} {path}?{query} HTTP/1.1\" {status} - - - - - "
                f"\"-\" \"-\" - - SigV4 - QueryString {host} -\n")
        name = f"{prefix}{now.strftime('%Y-%m-%d-%H-%M-%S')}-{request_id}"
        s3_backends[self._account_id]["aws"].put_object(target_bucket, name, line.encode())
        with self._lock:
            self.delivered += 1
