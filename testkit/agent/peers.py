"""The agent's real peers on loopback: a web site, headless Chromium, an OpenAI-compatible API.

Nothing here imitates a client library: the agent talks HTTP, CDP and the OpenAI API to
real servers on 127.0.0.1, and tests read what those servers received.

- :class:`Site`: ``http.server`` serving ``testkit/agent/site/`` plus routes a test adds
  (redirects, huge and slow bodies, non-HTML, errors); records every request.
- :class:`Chromium`: Debian's ``chromium`` started headless with a DevTools port, the
  same peer Browserless is (both speak CDP); tests/agent/conftest.py ``require_chromium``
  makes its absence a failure in CI, not a skip.
- :class:`ChatServer`: the OpenAI chat-completions endpoint, answering what a test (or
  :func:`extractive_answer`, for the demo) says, and recording each request.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SITE = Path(__file__).parent / "site"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


# A route answers (status, headers, body); body may be an iterator of chunks (streamed).
Route = Callable[[Request], tuple[int, dict[str, str], bytes | Iterator[bytes]]]


class _Server:
    """A threaded HTTP server on 127.0.0.1 with a random port, stopped by close()."""

    def __init__(self, handle: Callable[[Request], tuple[int, dict[str, str], bytes | Iterator[bytes]]]) -> None:
        self.requests: list[Request] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                request.body = self.rfile.read(length) if length else b""
                outer.requests.append(request)
                status, headers, body = handle(request)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if isinstance(body, bytes):
                    self.send_header("Content-Length", str(len(body)))
                else:
                    self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    if isinstance(body, bytes):
                        self.wfile.write(body)
                        return
                    for chunk in body:
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up, as it should

            do_GET = do_POST = _serve

            def log_message(self, *_: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Site(_Server):
    """Static files from ``root`` plus ``routes`` (path -> Route), on loopback."""

    def __init__(self, root: Path = SITE) -> None:
        self.root = root
        self.routes: dict[str, Route] = {}
        super().__init__(self._handle)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def _handle(self, request: Request) -> tuple[int, dict[str, str], bytes | Iterator[bytes]]:
        path = request.path.split("?")[0]
        if path in self.routes:
            return self.routes[path](request)
        file = (self.root / path.lstrip("/")).resolve()
        if file.is_file() and file.is_relative_to(self.root.resolve()):
            kind = {".html": "text/html; charset=utf-8", ".txt": "text/plain", ".png": "image/png"}
            return 200, {"Content-Type": kind.get(file.suffix, "application/octet-stream")}, file.read_bytes()
        return 404, {"Content-Type": "text/html"}, b"<h1>Not found</h1>"


def redirect(location: str, status: int = HTTPStatus.FOUND) -> Route:
    return lambda _: (status, {"Location": location}, b"")


def slow(chunks: int, pause: float) -> Route:
    """An HTML page that trickles ``chunks`` small chunks, ``pause`` seconds apart."""

    def body() -> Iterator[bytes]:
        yield b"<html><body>"
        for _ in range(chunks):
            time.sleep(pause)
            yield b"."

    return lambda _: (200, {"Content-Type": "text/html"}, body())


def huge(total: int, chunk: int = 64 * 1024) -> Route:
    """An HTML page of ``total`` bytes, streamed without a Content-Length."""

    def body() -> Iterator[bytes]:
        for _ in range(total // chunk):
            yield b"x" * chunk

    return lambda _: (200, {"Content-Type": "text/html"}, body())


def static(status: int, content_type: str, body: bytes) -> Route:
    return lambda _: (status, {"Content-Type": content_type}, body)


# ---------------------------------------------------------------------------------------
# Chromium


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Chromium:
    """A headless Chromium with its DevTools endpoint on a loopback port of its choosing."""

    binary: str
    process: subprocess.Popen[bytes] | None = None
    profile: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="agent-chromium-"))
    endpoint: str = ""

    def start(self, timeout: float = 60.0) -> Chromium:
        args = [
            self.binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={self.profile}",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "about:blank",
        ]
        self.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if port_file.exists() and (lines := port_file.read_text().split()) and len(lines) >= 2:
                self.endpoint = f"http://127.0.0.1:{lines[0]}"
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"chromium did not open its DevTools port within {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# OpenAI-compatible chat completions


Answer = Callable[[dict[str, Any]], str]


class ChatServer(_Server):
    """``POST /v1/chat/completions`` (and ``/chat/completions``) answering ``answer(request)``.

    ``status`` answers the first ``fail`` requests with that HTTP status instead, to see
    the client retry.
    """

    def __init__(self, answer: Answer, *, fail: int = 0, status: int = 503) -> None:
        self.answer = answer
        self.fail = fail
        self.fail_status = status
        super().__init__(self._handle)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.requests if r.method == "POST"]

    def _handle(self, request: Request) -> tuple[int, dict[str, str], bytes | Iterator[bytes]]:
        if request.method != "POST" or not request.path.rstrip("/").endswith("/chat/completions"):
            return 404, {"Content-Type": "application/json"}, b'{"error": {"message": "not found"}}'
        if self.fail > 0:
            self.fail -= 1
            return self.fail_status, {"Content-Type": "application/json"}, b'{"error": {"message": "busy"}}'
        body = json.loads(request.body)
        content = self.answer(body)
        reply = {
            "id": "chatcmpl-local",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", ""),
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(reply).encode()


def extractive_answer(body: dict[str, Any]) -> str:
    """A stand-in model for the demo: it quotes the prices the extraction found, citing pages.

    It reads only what the agent sent (the data block of the user message), so the
    report shows exactly what the agent gave a model; a real model is one
    ``LITELLM_URL`` away.
    """
    text = "".join(
        part["text"] if isinstance(part, dict) else str(part)
        for message in body["messages"]
        for part in (message["content"] if isinstance(message["content"], list) else [message["content"]])
        if not isinstance(part, dict) or part.get("type") == "text"
    )
    match = re.search(r"<data>\s*(\{.*\})\s*</data>", text, re.DOTALL)
    data = json.loads(match.group(1)) if match else {"pages": []}
    statements = []
    for page in data["pages"]:
        for price in page.get("prices", [])[:10]:
            statements.append({"text": f"{price['context']}", "sources": [page["id"]]})
    summary = f"The pages list {len(statements)} prices." if statements else "The pages list no prices."
    return json.dumps({"summary": summary, "statements": statements})
