"""Point an unchanged `tweepy.Client` at the sandbox: a requests transport adapter that rewrites
X's host to the sandbox's base URL (tweepy hard-codes https://api.twitter.com)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter

X_HOSTS = ("https://api.twitter.com/", "https://api.x.com/")


class SandboxAdapter(HTTPAdapter):
    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url)
        request.url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, *args, **kwargs)


def attach(client: Any, base_url: str) -> Any:
    """Mount the adapter on a tweepy Client's session; returns the client."""
    adapter = SandboxAdapter(base_url)
    for host in X_HOSTS:
        client.session.mount(host, adapter)
    return client
