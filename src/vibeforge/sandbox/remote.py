"""A sandbox served by another process (`vibeforge sandbox serve`), driven through its admin API.

It has the face of `RunningSandbox` that the loop uses — the base URL, the app and admin
tokens, a user token per account, account creation, the niche lists, the clock — so
`platform: {kind: sandbox, base_url: http://host:port}` runs the loop against a sandbox that
outlives it (and that several loops or third-party clients share). Only the admin token is
configured (`VIBEFORGE_SANDBOX_ADMIN_TOKEN`); every other token comes from the admin API.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any
from urllib.parse import quote

import httpx

from vibeforge.sandbox.problems import SandboxError


class RemoteSandbox:
    """The admin API of a sandbox at `base_url`; `stop()` leaves the server running."""

    def __init__(self, base_url: str, admin_token: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._admin = admin_token
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {admin_token}"},
            timeout=timeout,
        )

    @classmethod
    def connect(cls, base_url: str, admin_token: str) -> RemoteSandbox:
        """Connect and check the admin token works (SandboxError with the fix otherwise)."""
        sandbox = cls(base_url, admin_token)
        sandbox.info()
        return sandbox

    @property
    def admin_token(self) -> str:
        return self._admin

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        try:
            r = self._http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise SandboxError(
                f"no sandbox answers at {self.base_url} ({type(exc).__name__}: {exc}); start it "
                "with 'vibeforge sandbox serve' or fix platform.base_url"
            ) from exc
        if r.status_code in (401, 403):
            raise SandboxError(
                f"the sandbox at {self.base_url} refused the admin token ({r.status_code}); set "
                "VIBEFORGE_SANDBOX_ADMIN_TOKEN to the token 'vibeforge sandbox info' prints there"
            )
        if r.status_code >= 400:
            detail = r.json().get("detail", r.text) if _is_json(r) else r.text
            raise SandboxError(f"sandbox {method} {path}: {r.status_code} {detail}")
        return r.json()

    def info(self) -> dict[str, Any]:
        """The world: name, seed, platform time, counts, lists."""
        return dict(self._call("GET", "/admin/world"))

    @cached_property
    def app_token(self) -> str:
        return str(self._call("GET", "/admin/tokens")["app_token"])

    def user_token(self, handle: str) -> str:
        """The account's user token; SandboxError when the account does not exist."""
        return str(self._call("GET", f"/admin/tokens/{quote(handle, safe='')}")["token"])

    def create_account(
        self,
        handle: str,
        *,
        niche: str | None = None,
        followers: int = 0,
        follow_niche: bool = True,
    ) -> str:
        """Create a bot account that can post; returns its user token."""
        body = {
            "username": handle,
            "niche": niche,
            "followers": followers,
            "follow_niche": follow_niche,
        }
        return str(self._call("POST", "/admin/accounts", json=body)["token"])

    def advance(self, *, hours: float = 0.0, seconds: float = 0.0) -> None:
        self._call("POST", "/admin/clock/advance", json={"hours": hours, "seconds": seconds})

    def delete_post(self, post_id: str) -> None:
        """Delete anyone's post, as its author (or moderation) would."""
        self._call("DELETE", f"/admin/posts/{quote(post_id, safe='')}")

    def list_ids(self) -> dict[str, str]:
        """Each niche's list id."""
        return {
            str(row["niche"]): str(row["id"])
            for row in self.info()["lists"]
            if row.get("niche") is not None
        }

    def stop(self) -> None:
        """Close the connection; the sandbox itself belongs to the process that serves it."""
        self._http.close()

    def __enter__(self) -> RemoteSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _is_json(r: httpx.Response) -> bool:
    return "json" in r.headers.get("content-type", "")
