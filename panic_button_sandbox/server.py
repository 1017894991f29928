"""moto in server mode, inside this process, on 127.0.0.1 and a free port.

The server must run in-process: the sandbox extends moto's response classes, and those additions are
only seen by a server that shares our interpreter.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import socket
import threading
import urllib.request
from typing import Any

import boto3
from botocore.config import Config
from moto.core.config import default_user_config
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
CLIENT_CONFIG = Config(retries={"mode": "standard"})

# What the ASL interpreter and Lambda need from moto; set before any state machine exists, because the
# two Step Functions settings keep state machines in different backends.
_MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
_LOCALHOST = "127.0.0.1"


class LocalAws:
    """One moto server and the process environment that points every AWS SDK client at it."""

    def __init__(self, port: int = 0) -> None:
        self._requested_port = port  # 0: a free port
        self._server = ThreadedMotoServer(ip_address=_LOCALHOST, port=port, verbose=False)
        self._session: boto3.session.Session | None = None
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._saved_environ: dict[str, str | None] = {}
        self._saved_moto_config: dict[str, Any] = {}
        self._werkzeug_level = logging.NOTSET
        self.port = 0

    @property
    def endpoint_url(self) -> str:
        return f"http://{_LOCALHOST}:{self.port}"

    @property
    def environment(self) -> dict[str, str]:
        """The variables the sandbox exports: endpoint, region and fake credentials (never real ones)."""
        return {
            "MOTO_PORT": str(self.port),  # the ASL interpreter builds clients for localhost:$MOTO_PORT
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
        }

    def start(self) -> None:
        werkzeug = logging.getLogger("werkzeug")
        self._werkzeug_level = werkzeug.level
        werkzeug.setLevel(logging.ERROR)
        if self._requested_port:
            _require_free(self._requested_port)
        self._server.start()
        self.port = self._server.get_host_and_port()[1]
        self._export_environment()
        # Created after the export: a session reads AWS_PROFILE and friends when it is made.
        self._session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        # GET /moto-api/config omits stepfunctions; the server is in-process, so read moto's dict.
        self._saved_moto_config = copy.deepcopy({key: default_user_config[key] for key in _MOTO_CONFIG})  # type: ignore[literal-required]
        self._moto_api("config", _MOTO_CONFIG)

    def stop(self) -> None:
        try:
            self._moto_api("reset", {})
            self._moto_api("config", self._saved_moto_config)
        finally:
            self._server.stop()
            self._restore_environment()
            logging.getLogger("werkzeug").setLevel(self._werkzeug_level)

    def client(self, service: str) -> Any:
        """A boto3 client for the sandbox (created once per service; clients are thread-safe)."""
        if self._session is None:
            raise RuntimeError("the sandbox server is not started")
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(
                    service, region_name=REGION, endpoint_url=self.endpoint_url, config=CLIENT_CONFIG
                )
            return self._clients[service]

    def _moto_api(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/{path}", data=data)
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode() or "{}"
        parsed: dict[str, Any] = json.loads(text) if text.startswith("{") else {}
        return parsed

    def _export_environment(self) -> None:
        overrides: dict[str, str | None] = {**self.environment, "AWS_PROFILE": None}
        for name, value in overrides.items():
            self._saved_environ[name] = os.environ.get(name)
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _restore_environment(self) -> None:
        for name, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environ.clear()


class PortInUseError(OSError):
    """The requested port is taken: the message names it and the fix."""


def _require_free(port: int) -> None:
    """moto's server thread dies silently on a taken port and start() then waits forever: check first."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((_LOCALHOST, port))
        except OSError as error:
            raise PortInUseError(error.errno, f"port {port} on {_LOCALHOST} is not free: {error.strerror}") from None
