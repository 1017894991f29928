"""A local TCP proxy that caps each connection's upload (client to server) at a fixed rate, as S3 caps
each connection: parallel connections then add up, one connection does not go faster."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType

_CHUNK = 64 * 1024


class RateCappedProxy:
    """127.0.0.1:<port> forwarding to `upstream_port`; each accepted connection's client-to-server bytes
    are paced to `bytes_per_second` (server-to-client is not capped: only uploads are measured)."""

    def __init__(self, upstream_port: int, bytes_per_second: float) -> None:
        self._upstream = ("127.0.0.1", upstream_port)
        self._rate = bytes_per_second
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> RateCappedProxy:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._closed.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:  # the listener was closed
                return
            server = socket.create_connection(self._upstream)
            threading.Thread(target=self._pump, args=(client, server, self._rate), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, None), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket, rate: float | None) -> None:
        started, sent = time.monotonic(), 0
        try:
            while chunk := source.recv(_CHUNK):
                target.sendall(chunk)
                sent += len(chunk)
                if rate is not None:  # sleep until this connection is back under its rate
                    ahead = sent / rate - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()
