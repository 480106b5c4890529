"""Refuse request bodies over a size before they are read in full (413 in X's shape).

A declared `Content-Length` over the limit is answered at once, without reading the body; a
chunked body is counted as it arrives and refused as soon as it passes the limit, so a huge
upload never reaches JSON parsing or text weighing (which would hold the event loop).
"""

from __future__ import annotations

import json
from typing import Any

from vibeforge.sandbox.problems import PROBLEM_JSON, payload_too_large

MAX_BODY_BYTES = 1 << 20  # 1 MiB: far above any X request (a post is at most 280 weighted chars)
# a 5 MB image base64-encoded in JSON is 6.7 MB: the upload's own limit, past which the route
# answers a 400 naming `media` (X's image limit) rather than this 413
PATH_LIMITS = {"/2/media/upload": 8 << 20}

Scope = dict[str, Any]


class BodyLimit:
    """ASGI middleware: bodies over `max_bytes` get 413 Payload Too Large."""

    def __init__(self, app: Any, *, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = max(self.max_bytes, PATH_LIMITS.get(path, 0))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, problem=path.startswith("/2/"), limit=limit)
            return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # an ApiError: the route answers it like any other error in X's shape
                    raise payload_too_large(limit)
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, send: Any, *, problem: bool, limit: int) -> None:
        """413 at once; as `application/problem+json` on the X face (`/2/...`)."""
        body = json.dumps(payload_too_large(limit).body()).encode()
        kind = PROBLEM_JSON.encode() if problem else b"application/json"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", kind),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
