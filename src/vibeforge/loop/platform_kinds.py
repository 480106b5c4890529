"""The platform kinds vibeforge ships, registered by name in one place (`platform.kind`):

    x        the real X API v2 (`XClient.from_context`)
    sandbox  the embedded simulated platform: it speaks X API v2, so the same X client, with
             the tokens the sandbox hands out and its simulated clock

The registry lives in `vibeforge.platforms.registry` and knows no platform; registering here,
where the loop meets its parts, keeps `platforms` from importing the sandbox or the loop (and
the X client from importing the registry's users). Importing this module registers them.
"""

from __future__ import annotations

from datetime import datetime

from vibeforge.errors import ConfigError
from vibeforge.platforms.auth import BearerAuth
from vibeforge.platforms.registry import PlatformContext, register_platform
from vibeforge.platforms.x import XClient


class SandboxClock:
    """Platform time read from the sandbox's admin route (picklable, so Ray workers use it)."""

    def __init__(self, base_url: str, admin_token: str) -> None:
        self.base_url = base_url
        self.admin_token = admin_token

    def __call__(self) -> datetime:
        import httpx

        from vibeforge.platforms.base import PlatformUnavailable

        try:
            r = httpx.get(
                f"{self.base_url}/admin/world",
                headers={"Authorization": f"Bearer {self.admin_token}"},
                timeout=10,
            )
            r.raise_for_status()
        except httpx.HTTPError as exc:
            raise PlatformUnavailable(
                f"sandbox clock unreachable at {self.base_url}: {type(exc).__name__}: {exc}"
            ) from exc
        return datetime.fromisoformat(r.json()["now"].replace("Z", "+00:00"))


def sandbox_client(ctx: PlatformContext) -> XClient:
    """The X client against a sandbox server: its app token reads, each account's user token
    posts, and platform time is the sandbox's (secrets "app_token" and "admin_token")."""
    app, admin = ctx.secrets.get("app_token"), ctx.secrets.get("admin_token")
    if not ctx.base_url or not app or not admin:
        raise ConfigError(
            "platform sandbox needs a running sandbox's URL, app token and admin token "
            "(vibeforge run starts one; see 'vibeforge sandbox token')"
        )
    return XClient(
        ledger=ctx.ledger,
        base_url=ctx.base_url,
        auth=BearerAuth(app),
        user_auth={h: BearerAuth(t) for h, t in ctx.user_tokens.items()},
        clock=SandboxClock(ctx.base_url, admin),
    )


register_platform("x", XClient.from_context)
register_platform("sandbox", sandbox_client)
