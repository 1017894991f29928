"""Lambda without Docker: run the real handler in this process when moto is asked to invoke a function.

Replaces LambdaSimpleBackend.invoke (stock: returns canned text). Each call gets the function's own
environment in os.environ (restored afterwards) and its own copy of the handler's package in
sys.modules, the way each function has its own warm container on AWS. os.environ and sys.modules are
process-wide, so invocations are serialized; a handler that synchronously invokes another function
through the sandbox would wait forever. The function's Timeout is reported, not enforced.

Whole reads of os.environ (copy, items, keys, iteration: botocore's IMDS fetcher copies it for every new
client, urllib's proxy lookup iterates it for every request, on the interpreter's threads too) take the
same lock as the overlay and its restore: a read that iterates while a restore deletes a key raises
KeyError (AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_VERSION), which storms of executions made visible.

Concurrency (stock: none): with `concurrency_limit` set, an invocation counts against the account's
concurrent executions from its arrival until it returns (waiting for the serialized turn included, as the
same calls would run side by side on AWS). A synchronous invocation past the limit is answered 429
TooManyRequestsException, as Lambda answers; an asynchronous one is never refused (Lambda queues it).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.exceptions import JsonRESTError

from panic_button_sandbox.iam.enforcement import IamEnforcement
from panic_button_sandbox.lambda_assets import check_asset_is_current
from panic_button_sandbox.patches import Patches

_ENVIRON_LOCK = threading.RLock()  # os.environ's overlay and restore against a concurrent whole read


@dataclass(frozen=True)
class LambdaContext:
    """The context object a Python handler receives."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float
    identity: None = None
    client_context: None = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class TooManyRequestsException(JsonRESTError):
    """Lambda's answer to a synchronous invocation past the concurrency limit."""

    code = 429

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")
        self.description = json.dumps({"__type": "TooManyRequestsException", "message": "Rate Exceeded.",
                                       "Reason": "ConcurrentInvocationLimitExceeded"})


class LambdaDispatcher:
    """Knows where each deployed function's code is and runs it when moto is asked to invoke it."""

    def __init__(self, iam: IamEnforcement) -> None:
        self._iam = iam  # each handler's AWS calls are authorized against its function's role
        self.concurrency_limit: int | None = None  # None: no limit (stock moto)
        self._in_flight = 0
        self._peak_in_flight = 0
        self.throttled = 0  # synchronous invocations answered 429
        self._assets: dict[str, Path] = {}
        self._handler_roots: set[str] = set()  # top-level packages that hold handlers
        self._lock = threading.Lock()
        self._warm_modules: dict[str, dict[str, ModuleType]] = {}
        self._async_lock = threading.Lock()
        self._async_calls: set[threading.Thread] = set()  # InvocationType Event, still running

    def register(self, function_name: str, handler: str, asset_dir: Path) -> None:
        """Accept a function whose asset matches the source; raises StaleAssetsError otherwise."""
        check_asset_is_current(function_name, handler, asset_dir)
        self._assets[function_name] = asset_dir
        self._handler_roots.add(handler.split(".", maxsplit=1)[0])

    def install(self, patches: Patches) -> None:
        dispatcher = self

        # Every read of the whole environment is a snapshot taken under the overlay's lock: urllib's proxy
        # lookup iterates os.environ.items() for every botocore request, on every thread.
        def locked_copy(self: Any) -> dict[str, str]:
            with _ENVIRON_LOCK:
                return dict(stock_copy(self))

        def snapshot_items(self: Any) -> Any:
            with _ENVIRON_LOCK:
                return dict(list(stock_items(self))).items()

        def snapshot_keys(self: Any) -> Any:
            with _ENVIRON_LOCK:
                return dict.fromkeys(list(stock_iter(self))).keys()

        def snapshot_iter(self: Any) -> Any:
            with _ENVIRON_LOCK:
                return iter(list(stock_iter(self)))

        stock_copy = patches.replace(os._Environ, "copy", locked_copy)
        stock_items = patches.replace(os._Environ, "items", snapshot_items)
        patches.replace(os._Environ, "keys", snapshot_keys)
        stock_iter = patches.replace(os._Environ, "__iter__", snapshot_iter)

        def invoke(  # noqa: PLR0917 - the signature of the moto method it replaces
            self: LambdaSimpleBackend,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: dict[str, str],
        ) -> bytes:
            function = self.get_function(function_name, qualifier)
            invoked_arn = function_name if function_name.startswith("arn:") else function.function_arn
            call_type = headers.get("X-Amz-Invocation-Type", "RequestResponse")
            if call_type == "DryRun":
                return b""
            payload = json.loads(body) if body else {}
            if call_type == "Event":
                dispatcher.call_later(function, invoked_arn, payload)
                return b""
            if not dispatcher.admit(refusable=True):
                raise TooManyRequestsException()
            return dispatcher.call(function, invoked_arn, payload, response_headers, admitted=True)

        patches.replace(LambdaSimpleBackend, "invoke", invoke)

    @property
    def peak_in_flight(self) -> int:
        return self._peak_in_flight

    def limit_concurrency(self, limit: int | None) -> None:
        """Set the quota; the peak and the throttle count start again from here."""
        with self._async_lock:
            self.concurrency_limit, self._peak_in_flight, self.throttled = limit, self._in_flight, 0

    def admit(self, *, refusable: bool) -> bool:
        """Count an arriving invocation in; False (and not counted) when it is refusable and over the limit."""
        with self._async_lock:
            if refusable and self.concurrency_limit is not None and self._in_flight >= self.concurrency_limit:
                self.throttled += 1
                return False
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)
            return True

    def call(self, function: Any, invoked_arn: str, payload: Any, response_headers: dict[str, str], *,
             admitted: bool = False) -> bytes:
        """Run the handler; an exception becomes the Lambda error envelope (FunctionError: Unhandled)."""
        if not admitted:
            self.admit(refusable=False)
        try:
            return self._run(function, invoked_arn, payload, response_headers)
        finally:
            with self._async_lock:
                self._in_flight -= 1

    def _run(self, function: Any, invoked_arn: str, payload: Any, response_headers: dict[str, str]) -> bytes:
        request_id = str(uuid.uuid4())
        asset_dir = self._assets.get(function.function_name)
        with self._lock:
            try:
                if asset_dir is None:
                    raise LookupError(f"function {function.function_name} was not deployed by the sandbox")
                context = _context(function, invoked_arn, request_id)
                with (
                    _function_environment(function, asset_dir),
                    self._function_modules(function.function_name),
                    self._iam.running_as(function.function_name, function.role),
                ):
                    handler = self._load_handler(function, asset_dir)
                    result = handler(payload, context)
                return json.dumps(result).encode()
            except Exception as error:
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps(_error_envelope(error, request_id)).encode()

    def call_later(self, function: Any, invoked_arn: str, payload: Any) -> None:
        """InvocationType Event: run on a thread of its own; `wait_until_idle` waits for it."""
        thread = threading.Thread(target=self._call_and_forget, args=(function, invoked_arn, payload), daemon=True)
        with self._async_lock:
            self._async_calls.add(thread)
        thread.start()

    def wait_until_idle(self, timeout_seconds: float) -> None:
        """Wait for every asynchronous invocation, those started meanwhile included; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            with self._async_lock:
                pending = next(iter(self._async_calls), None)
            if pending is None:
                return
            pending.join(max(0.0, deadline - time.monotonic()))
            if pending.is_alive():
                raise TimeoutError(f"an asynchronous Lambda invocation still runs after {timeout_seconds} s")

    def _call_and_forget(self, function: Any, invoked_arn: str, payload: Any) -> None:
        try:
            self.call(function, invoked_arn, payload, {})
        finally:
            with self._async_lock:
                self._async_calls.discard(threading.current_thread())

    def _load_handler(self, function: Any, asset_dir: Path) -> Any:
        module_name, _, attribute = function.handler.rpartition(".")
        if module_name not in sys.modules:  # a cold start: check the code matches cdk.out first
            check_asset_is_current(function.function_name, function.handler, asset_dir)
        module = importlib.import_module(module_name)
        return getattr(module, attribute)

    @contextmanager
    def _function_modules(self, function_name: str) -> Iterator[None]:
        """Swap in this function's imported modules of the handler packages, swap them out after."""
        outside = _take_modules(self._handler_roots)
        sys.modules.update(self._warm_modules.get(function_name, {}))
        try:
            yield
        finally:
            self._warm_modules[function_name] = _take_modules(self._handler_roots)
            sys.modules.update(outside)


def _take_modules(roots: set[str]) -> dict[str, ModuleType]:
    taken = {name: module for name, module in list(sys.modules.items()) if name.split(".")[0] in roots}
    for name in taken:
        del sys.modules[name]
    return taken


def _context(function: Any, invoked_arn: str, request_id: str) -> LambdaContext:
    return LambdaContext(
        function_name=function.function_name,
        function_version="$LATEST",
        invoked_function_arn=invoked_arn,
        memory_limit_in_mb=int(function.memory_size),
        aws_request_id=request_id,
        log_group_name=function.logs_group_name,
        log_stream_name=f"{time.strftime('%Y/%m/%d')}/[$LATEST]{request_id.replace('-', '')}",
        deadline=time.monotonic() + float(function.timeout),
    )


@contextmanager
def _function_environment(function: Any, asset_dir: Path) -> Iterator[None]:
    """Overlay the function's variables on os.environ (the sandbox's endpoint and credentials stay)."""
    overlay = {
        "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": function.logs_group_name,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.run_time}",
        "LAMBDA_TASK_ROOT": str(asset_dir),
        "_HANDLER": function.handler,
        **{name: str(value) for name, value in function.environment_vars.items()},
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
    }
    with _ENVIRON_LOCK:
        saved = {name: os.environ.get(name) for name in overlay}
        os.environ.update(overlay)
    try:
        yield
    finally:
        with _ENVIRON_LOCK:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _error_envelope(error: Exception, request_id: str) -> dict[str, Any]:
    return {
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "requestId": request_id,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }
