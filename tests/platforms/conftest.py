"""A real HTTP server on loopback that answers from a script, to drive the X client through
failures the sandbox never produces on its own (5xx, malformed JSON, oversize bodies, resets).
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict → JSON; bytes/str → raw
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


class ScriptedServer:
    def __init__(self) -> None:
        self.replies: dict[tuple[str, str], deque[Reply | Callable[[Seen], Reply]]] = defaultdict(
            deque
        )
        self.seen: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlparse(self.path)
                seen = Seen(self.command, url.path, parse_qs(url.query), dict(self.headers), body)
                server.seen.append(seen)
                queue = server.replies.get((self.command, url.path))
                if not queue:
                    reply = Reply(
                        404, {"title": "Not Found Error", "detail": url.path, "status": 404}
                    )
                else:
                    item = queue[0] if len(queue) == 1 else queue.popleft()
                    reply = item(seen) if callable(item) else item
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                raw = (
                    reply.body
                    if isinstance(reply.body, bytes)
                    else (
                        reply.body.encode()
                        if isinstance(reply.body, str)
                        else json.dumps(reply.body).encode()
                    )
                )
                if any(k.lower() == "date" for k in reply.headers):
                    self.send_response_only(reply.status)  # the script's Date, not the server's
                else:
                    self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_DELETE = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def script(self, method: str, path: str, *replies: Reply | Callable[[Seen], Reply]) -> None:
        """Answer `method path` with these replies in turn; the last one repeats."""
        self.replies[(method, path)] = deque(replies)

    def count(self, method: str, path: str) -> int:
        return sum(1 for s in self.seen if s.method == method and s.path == path)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


import pytest  # noqa: E402


@pytest.fixture
def scripted():  # type: ignore[no-untyped-def]
    with ScriptedServer() as server:
        yield server


@pytest.fixture
def reply():  # type: ignore[no-untyped-def]
    return Reply
