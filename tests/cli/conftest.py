"""A loopback OAuth 2.0 token endpoint for the auth command's test."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest


@pytest.fixture
def scripted_token_server():  # type: ignore[no-untyped-def]
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            ok = form.get("code") == ["good-code"] and form.get("code_verifier")
            body = json.dumps(
                {"access_token": "at-9", "refresh_token": "rt-9", "expires_in": 7200}
                if ok
                else {"error": "invalid_grant"}
            ).encode()
            self.send_response(200 if ok else 400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/2/oauth2/token"
    server.shutdown()
    server.server_close()
