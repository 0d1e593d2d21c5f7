"""A tiny local HTTP server that answers every request like a secured Elasticsearch
refusing the credentials: 401, Elasticsearch's JSON error and ``X-elastic-product``.

The test node runs with security off, so this is how the tests get a real 401 over a
real socket (the client, its transport and the error translation all run for real).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_BODY = {
    "error": {
        "root_cause": [
            {
                "type": "security_exception",
                "reason": "unable to authenticate user [someone] for REST request [/]",
                "header": {"WWW-Authenticate": ['Basic realm="security"', "ApiKey"]},
            }
        ],
        "type": "security_exception",
        "reason": "unable to authenticate user [someone] for REST request [/]",
        "header": {"WWW-Authenticate": ['Basic realm="security"', "ApiKey"]},
    },
    "status": 401,
}


class RefusingElasticsearch:
    """``with refusing_elasticsearch() as stub: stub.url``; ``stub.authorizations`` holds
    the ``Authorization`` headers received (to prove credentials were really sent)."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self.authorizations: list[str] = []
        self.requests: list[tuple[str, str]] = []

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"


#: what a stub answers a request: ``(status, Content-Type, further headers, body)``
Answer = tuple[int, str, dict[str, str], bytes]


@contextmanager
def _serving(
    answer: Callable[[BaseHTTPRequestHandler, RefusingElasticsearch], Answer],
) -> Iterator[RefusingElasticsearch]:
    """A stub on a free local port that records each request, then sends what ``answer``
    makes of it (no body to ``HEAD``); stopped afterwards."""
    holder: list[RefusingElasticsearch] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            stub = holder[0]
            stub.requests.append((self.command, self.path))
            status, content_type, headers, body = answer(self, stub)
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("X-elastic-product", "Elasticsearch")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stub = RefusingElasticsearch(server)
    holder.append(stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def refusing_elasticsearch() -> Iterator[RefusingElasticsearch]:
    body = json.dumps(_BODY).encode()
    challenge = {"WWW-Authenticate": 'Basic realm="security", charset="UTF-8"'}

    def answer(request: BaseHTTPRequestHandler, stub: RefusingElasticsearch) -> Answer:
        auth = request.headers.get("Authorization")
        if auth:
            stub.authorizations.append(auth)
        return 401, "application/json", challenge, body

    with _serving(answer) as stub:
        yield stub


_INFO = {
    "name": "stub",
    "cluster_name": "stub",
    "version": {"number": "8.19.9", "build_flavor": "default"},
    "tagline": "You Know, for Search",
}


@contextmanager
def failing_elasticsearch(
    status: int, *, hang_seconds: float = 0.0
) -> Iterator[RefusingElasticsearch]:
    """A server that answers ``GET /`` like Elasticsearch 8 (so a cache is created) and
    every other request with ``status`` (429, 500, 503...) and Elasticsearch's JSON error,
    after ``hang_seconds`` (longer than the client's ``request_timeout``: a timeout)."""
    error = {
        "error": {"type": "stub_exception", "reason": f"the stub answers {status}"},
        "status": status,
    }

    def answer(request: BaseHTTPRequestHandler, stub: RefusingElasticsearch) -> Answer:
        root = request.path.split("?")[0] == "/"
        if hang_seconds and not root:
            time.sleep(hang_seconds)
        code, body = (200, _INFO) if root else (status, error)
        accept = request.headers.get("Accept") or "application/json"
        return code, accept.split(",")[0], {}, json.dumps(body).encode()

    with _serving(answer) as stub:
        yield stub
