"""A minimal QMP client: QEMU's JSON control protocol over a unix socket.

Only what the NMI cycle needs: the greeting, `qmp_capabilities`, and single commands such as
`inject-nmi` (what EC2 SendDiagnosticInterrupt does to an instance) and `quit`.
"""

import json
import logging
import socket
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

logger = logging.getLogger(__name__)


class QmpError(RuntimeError):
    """QEMU refused a command, closed the socket, or did not answer in time."""


class QmpClient:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""

    @classmethod
    def connect(cls, socket_path: Path, timeout: float) -> Self:
        """Connect once QEMU has created the socket, read the greeting and enter command mode."""
        deadline = time.monotonic() + timeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(str(socket_path))
                break
            except (FileNotFoundError, ConnectionRefusedError) as exc:
                sock.close()
                if time.monotonic() > deadline:
                    raise QmpError(f"no QMP socket at {socket_path} after {timeout:.0f} s") from exc
                time.sleep(0.05)
        client = cls(sock)
        greeting = client._read_message()
        if "QMP" not in greeting:
            client.close()
            raise QmpError(f"unexpected QMP greeting {greeting}")
        client.execute("qmp_capabilities")
        return client

    def execute(self, command: str, arguments: dict[str, Any] | None = None) -> Any:
        """Run one command and return its "return" value; asynchronous events are skipped."""
        request: dict[str, Any] = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        self._sock.sendall(json.dumps(request).encode() + b"\n")
        while True:
            message = self._read_message()
            if "return" in message:
                logger.debug("QMP %s -> %s", command, message["return"])
                return message["return"]
            if "error" in message:
                raise QmpError(f"QMP {command} failed: {message['error']}")
            logger.debug("QMP event while waiting for %s: %s", command, message.get("event"))

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _read_message(self) -> dict[str, Any]:
        while b"\n" not in self._buffer:
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError as exc:
                raise QmpError("QMP did not answer in time") from exc
            if not chunk:
                raise QmpError("QEMU closed the QMP socket")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        message: dict[str, Any] = json.loads(line)
        return message
