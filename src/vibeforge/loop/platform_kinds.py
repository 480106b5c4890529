"""The platform kinds vibeforge ships, registered by name in one place (`platform.kind`):

    x                the real X API v2 (`XClient.from_context`)
    bluesky          real Bluesky (`BlueskyClient.from_context`: app passwords, a PDS URL)
    sandbox          the embedded simulated platform: it speaks X API v2, so the same X client,
                     with the tokens the sandbox hands out and its simulated clock
    sandbox_bluesky  the same sandbox through its XRPC face: the Bluesky client, each account's
                     sandbox token as its app password (`platform: {kind: sandbox, face: bluesky}`)

The registry lives in `vibeforge.platforms.registry` and knows no platform; registering here,
where the loop meets its parts, keeps `platforms` from importing the sandbox or the loop (and
the X client from importing the registry's users). Importing this module registers them, each
with its policy (`vibeforge.platforms.policy`): the sandbox's faces share the sandbox's.
"""

from __future__ import annotations

from datetime import datetime

from vibeforge.errors import ConfigError
from vibeforge.platforms.auth import BearerAuth
from vibeforge.platforms.bluesky import BlueskyClient
from vibeforge.platforms.policy import BLUESKY_POLICY, SANDBOX_POLICY, X_POLICY
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


def sandbox_bluesky_client(ctx: PlatformContext) -> BlueskyClient:
    """The Bluesky client against a sandbox server's XRPC face: each account logs in with its
    sandbox user token as app password; platform time is the sandbox's."""
    admin = ctx.secrets.get("admin_token")
    if not ctx.base_url or not admin:
        raise ConfigError(
            "platform sandbox (face bluesky) needs a running sandbox's URL and admin token "
            "(vibeforge run starts one; see 'vibeforge sandbox token')"
        )
    return BlueskyClient(
        base_url=f"{ctx.base_url.rstrip('/')}/xrpc",
        credentials=dict(ctx.user_tokens),
        ledger=ctx.ledger,
        clock=SandboxClock(ctx.base_url, admin),
    )


register_platform("x", XClient.from_context, policy=X_POLICY)
register_platform("bluesky", BlueskyClient.from_context, policy=BLUESKY_POLICY)
register_platform("sandbox", sandbox_client, policy=SANDBOX_POLICY)
register_platform("sandbox_bluesky", sandbox_bluesky_client, policy=SANDBOX_POLICY)
