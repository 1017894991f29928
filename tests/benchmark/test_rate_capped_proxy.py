"""The capping proxy forwards every byte both ways unchanged (its pacing is measured, never asserted)."""

from __future__ import annotations

import os
import socket
import threading

from bench.rate_capped_proxy import RateCappedProxy


def test_bytes_pass_through_unchanged_in_both_directions() -> None:
    payload = os.urandom(300_000)
    received = bytearray()
    with socket.create_server(("127.0.0.1", 0)) as upstream:

        def echo_reversed() -> None:
            connection, _ = upstream.accept()
            with connection:
                while len(received) < len(payload):
                    received.extend(connection.recv(65536))
                connection.sendall(bytes(reversed(received)))

        server = threading.Thread(target=echo_reversed, daemon=True)
        server.start()
        with RateCappedProxy(upstream.getsockname()[1], bytes_per_second=50e6) as proxy, \
                socket.create_connection(("127.0.0.1", proxy.port)) as client:
            client.sendall(payload)
            answer = bytearray()
            while len(answer) < len(payload):
                chunk = client.recv(65536)
                assert chunk, "the proxy closed the connection early"
                answer.extend(chunk)
        server.join(timeout=30)

    assert bytes(received) == payload
    assert bytes(answer) == bytes(reversed(payload))
