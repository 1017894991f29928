"""Faults in every call the stack makes in the sandbox: the Lambdas' SDK calls, Step Functions' Lambda invokes
and the collector's presigned S3 requests all reach moto's one server entry, where IAM has already said yes
(a denied call never gets here). There each call of the stack is, per the FaultSpec, answered with the
service's throttling error or a 5xx, or served. The harness's own calls (tests, `simulate`, the deployer,
the SSM agent's output upload) are never faulted.

Callers are told apart by the access key their request is signed with: each function's own (IAM
enforcement gives every function one), the key Step Functions' interpreter signs with, and for a presigned
URL (the collector) the signing function's key in `X-Amz-Credential`.

A 5xx comes before or after the service applied the call, half and half: after, the request was served and
its answer thrown away, as when a response is lost. Throttling always comes before (AWS refuses the call).
Every decision is a function of the seed, the caller, the operation and how many such calls came before,
so a run repeats its faults whatever the threads' interleaving across callers.

Replaced: moto's server entry (`DomainDispatcherApplication.__call__`), around the presigned authorization.
"""

from __future__ import annotations

import io
import logging
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from panic_button_sandbox.faults.service_errors import Kind, error_code, service_error
from panic_button_sandbox.faults.spec import FaultSpec
from panic_button_sandbox.iam.enforcement import IamEnforcement
from panic_button_sandbox.iam.presigned import presigned_operation
from panic_button_sandbox.patches import Patches

_LOG = logging.getLogger(__name__)
STATES_ACCESS_KEY = "ak"  # moto's ASL interpreter signs its service integrations' calls with this key
STATES_CALLER = "states"
COLLECTOR_CALLER = "collector"
_REASONS = {500: "Internal Server Error", 503: "Service Unavailable", 429: "Too Many Requests", 400: "Bad Request"}


@dataclass(frozen=True)
class InjectedFault:
    caller: str  # a function name, "states" or "collector"
    service: str  # SigV4 signing name: ec2, s3, dynamodb, lambda, states, ssm, ...
    operation: str
    code: str
    applied: bool  # the service applied the call before the error was answered
    resource: str = ""  # the function, for a Lambda Invoke


@dataclass(frozen=True)
class _Request:
    caller: str
    service: str
    operation: str
    head: bool
    resource: str = ""
    cbor: bool = False  # the request is smithy-rpc-v2-cbor (CloudWatch)


class FaultInjector:
    """Holds the active FaultSpec (none: every call is served) and the log of the faults it injected."""

    def __init__(self, iam: IamEnforcement) -> None:
        self._iam = iam
        self._spec = FaultSpec()
        self._seen: Counter[tuple[str, str, str]] = Counter()
        self._forced: dict[tuple[str, str], list[tuple[Kind, bool]]] = {}  # (operation, resource) -> next faults
        self._lock = threading.Lock()
        self.injected: list[InjectedFault] = []
        self.on_part_upload: Callable[[], None] | None = None  # the collector sent a part (ssm-offline-at)

    @property
    def spec(self) -> FaultSpec:
        return self._spec

    def use(self, spec: FaultSpec) -> None:
        """From now on inject `spec`'s faults, counting calls from zero (the same seed repeats a run)."""
        if spec.any and not self._iam.enabled:
            raise ValueError("fault injection tells the stack's callers apart by their IAM identities: "
                             "unset PANIC_BUTTON_SANDBOX_IAM=off")
        with self._lock:
            self._spec = spec
            self._seen.clear()
            self._forced.clear()
            self.injected = []

    def fail_next(self, operation: str, kind: Kind, *, applied: bool = False, resource: str = "") -> None:
        """The next call of `operation` (on `resource`: a function, for Invoke) by the stack gets this fault,
        whatever the spec: for tests aimed at one call."""
        if not self._iam.enabled:
            raise ValueError("fault injection needs the sandbox's IAM on: unset PANIC_BUTTON_SANDBOX_IAM=off")
        with self._lock:
            self._forced.setdefault((operation, resource), []).append((kind, applied))

    @property
    def _active(self) -> bool:
        return self._spec.any or bool(self._forced)

    def install(self, patches: Patches) -> None:
        stock = DomainDispatcherApplication.__call__
        injector = self

        def call(self: DomainDispatcherApplication, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
            request = injector._request(environ) if injector._active else None
            if request is not None and request.operation == "UploadPart" and request.caller == COLLECTOR_CALLER \
                    and injector.on_part_upload is not None:
                injector.on_part_upload()
            fault = injector._decide(request) if request is not None else None
            if fault is None:
                return stock(self, environ, start_response)  # type: ignore[no-any-return]
            kind, applied = fault
            if applied:
                _drain(stock(self, environ, lambda *_: None))
            assert request is not None
            error = service_error(request.service, kind, head=request.head, cbor=request.cbor)
            injector._log(InjectedFault(request.caller, request.service, request.operation,
                                        error_code(request.service, kind), applied, request.resource))
            start_response(f"{error.status} {_REASONS.get(error.status, 'Error')}", list(error.headers.items()))
            return [error.body]

        patches.replace(DomainDispatcherApplication, "__call__", call)

    def faults_on(self, operation: str, *, applied: bool | None = None) -> list[InjectedFault]:
        with self._lock:
            return [f for f in self.injected if f.operation == operation and applied in {None, f.applied}]

    def _log(self, fault: InjectedFault) -> None:
        with self._lock:
            self.injected.append(fault)
        _LOG.info("fault injected: %s %s:%s by %s%s", fault.code, fault.service, fault.operation, fault.caller,
                  " (after it was applied)" if fault.applied else "")

    def _request(self, environ: dict[str, Any]) -> _Request | None:
        query = {name: values[0] for name, values in parse_qs(environ.get("QUERY_STRING", ""),
                                                              keep_blank_values=True).items()}
        presigned = "X-Amz-Credential" in query
        credential = query["X-Amz-Credential"] if presigned else _credential(environ.get("HTTP_AUTHORIZATION", ""))
        access_key, _, scope = credential.partition("/")
        service = scope.split("/")[2] if scope.count("/") >= 2 else ""
        if access_key == STATES_ACCESS_KEY:
            caller = STATES_CALLER
        else:
            identity = self._iam.identity_for_access_key(access_key)
            if identity is None:
                return None  # the harness
            caller = COLLECTOR_CALLER if presigned else identity.function_name
        method = environ.get("REQUEST_METHOD", "GET")
        path = str(environ.get("PATH_INFO", ""))
        return _Request(caller, service, _operation(environ, service, method, query), head=method == "HEAD",
                        resource=_function_name(path) if service == "lambda" else "", cbor="/operation/" in path)

    def _decide(self, request: _Request) -> tuple[Kind, bool] | None:
        spec = self._spec
        with self._lock:
            for target in ((request.operation, request.resource), (request.operation, "")):
                forced = self._forced.get(target)
                if forced:
                    fault = forced.pop(0)
                    if not forced:
                        del self._forced[target]
                    return fault
            key = (request.caller, request.service, request.operation)
            count = self._seen[key]
            self._seen[key] += 1
        draw = random.Random(f"{spec.seed}|{'|'.join(key)}|{count}")
        lambda_roll, part_roll, throttle_roll, error_roll, after_roll, status_roll = (draw.random() for _ in range(6))
        server_error: Kind = "500" if status_roll < 0.5 else "503"
        applied = after_roll < 0.5
        if request.caller == STATES_CALLER and request.operation == "Invoke" and lambda_roll < spec.lambda_error:
            return "500", applied
        if request.caller == COLLECTOR_CALLER and request.operation == "UploadPart" and part_roll < spec.s3_part:
            return "500", False
        if throttle_roll < spec.throttle:
            return "throttle", False
        if error_roll < spec.error5xx:
            return server_error, applied
        return None


def _function_name(path: str) -> str:
    """`/2015-03-31/functions/<name or ARN>/invocations` -> the function's name."""
    named = unquote(path.split("/functions/", 1)[1].split("/", 1)[0]) if "/functions/" in path else ""
    return named.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in named else named


def _credential(authorization: str) -> str:
    _, found, rest = authorization.partition("Credential=")
    return rest.split(",", 1)[0].strip() if found else ""


def _operation(environ: dict[str, Any], service: str, method: str, query: dict[str, str]) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return str(target).rsplit(".", 1)[-1]
    path = str(environ.get("PATH_INFO", ""))
    if service == "s3":
        return presigned_operation(method, query) or method
    if service == "lambda":
        return "Invoke" if path.endswith("/invocations") else method
    if "/operation/" in path:  # smithy-rpc-v2-cbor (CloudWatch)
        return path.rsplit("/", 1)[-1]
    if method == "POST":  # the query protocols (EC2, SNS): the action is in the form body
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size) if size else b""
        environ["wsgi.input"] = io.BytesIO(body)
        action = parse_qs(body.decode(errors="replace")).get("Action", [""])[0]
        return action or method
    return query.get("Action", method)


def _drain(response: Iterable[bytes]) -> None:
    """Serve the request to the end (the service applies it), then drop the answer."""
    try:
        for _ in response:
            pass
    finally:
        close = getattr(response, "close", None)
        if close is not None:
            close()
