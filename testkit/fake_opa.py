"""A stand-in for OPA's REST data API on 127.0.0.1, answering however a test tells it to.

``FakeOpa(answer)`` serves on an ephemeral loopback port until closed; ``answer(path,
body)`` returns the status and raw bytes to send, so a test can answer with an error,
garbage, or a delay: faults the real OPA (testkit/opa.py) cannot produce on demand.
Every request is recorded. A context manager, so the server never outlives its test;
closing waits for handlers, so an answer that delays must be released first.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

Answer = Callable[[str, Any], tuple[int, bytes]]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    content_type: str
    body: Any


class FakeOpa:
    def __init__(self, answer: Answer, *, port: int = 0, drops_kept: bool = False) -> None:
        """``port`` 0 picks a free one; a given port lets a test bring OPA up where an
        operator was already told to look. ``drops_kept``: answer as HTTP/1.1 (so the
        client keeps the connection), then close it unannounced, as a server whose idle
        timeout ends a kept connection does; otherwise HTTP/1.0, a connection per
        request. ``connections`` counts the connections accepted."""
        self.requests: list[Request] = []
        self.connections = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if drops_kept else "HTTP/1.0"

            def setup(self) -> None:
                super().setup()
                fake.connections += 1

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.loads(raw) if raw else None
                fake.requests.append(Request("POST", self.path, self.headers.get("Content-Type", ""), body))
                status, payload = answer(self.path, body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout tests)
                self.close_connection = True  # HTTP/1.0 closes anyway; drops_kept, unannounced

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # A short poll so that closing (which waits for the serving loop) is quick.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    def __enter__(self) -> FakeOpa:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def fixed(status: int, document: Any) -> Answer:
    """Always the same answer: ``document`` as JSON (or as is, if already bytes)."""
    payload = document if isinstance(document, bytes) else json.dumps(document).encode()
    return lambda path, body: (status, payload)
