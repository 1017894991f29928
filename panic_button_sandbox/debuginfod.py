"""A debuginfod server on 127.0.0.1, for the analysis' symbol fetch: GET /buildid/<build-id>/debuginfo.

    with LoopbackDebuginfod({build_id: vmlinux_path}) as server:
        server.url                      # "http://127.0.0.1:<port>"
        server.requests                 # the paths asked, in order

Serves files by build ID as elfutils' debuginfod does (200 with the ELF file, 404 for an unknown build
ID), and nothing else. `answers` overrides a build ID's answer with any bytes (a server that lies).
"""

from __future__ import annotations

import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

_PATH = re.compile(r"^/buildid/([0-9a-f]+)/debuginfo$")


class LoopbackDebuginfod:
    def __init__(self, files: dict[str, Path], answers: dict[str, bytes] | None = None) -> None:
        self.files, self.answers = files, answers or {}
        self.requests: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="debuginfod", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LoopbackDebuginfod:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                match = _PATH.match(self.path)
                build_id = match.group(1) if match else ""
                if build_id in server.answers:
                    self._answer(server.answers[build_id])
                elif build_id in server.files:
                    path = server.files[build_id]
                    self.send_response(200)
                    self.send_header("Content-Length", str(path.stat().st_size))
                    self.end_headers()
                    with path.open("rb") as source:
                        shutil.copyfileobj(source, self.wfile)
                else:
                    self.send_error(404, "Not found")

            def _answer(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # the test reads `requests`, not stderr

        return Handler
