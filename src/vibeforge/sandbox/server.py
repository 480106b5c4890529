"""The sandbox HTTP app and the in-process starter (see the package docstring)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vibeforge.paths import Home
from vibeforge.sandbox.bodylimit import MAX_BODY_BYTES, BodyLimit
from vibeforge.sandbox.engine import World
from vibeforge.sandbox.limits import Authenticator, RateLimiter, RateLimits
from vibeforge.sandbox.model import AudienceParams
from vibeforge.sandbox.problems import SandboxError
from vibeforge.sandbox.store import SandboxStore
from vibeforge.sandbox.xrpc_limits import XrpcLimits


def create_app(
    world: World,
    *,
    limits: RateLimits | None = None,
    xrpc_limits: XrpcLimits | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Any:
    """A FastAPI app serving `world`: X API v2 under /2, the AT Protocol's XRPC under /xrpc,
    admin routes under /admin."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from vibeforge.sandbox.admin import add_admin_routes
    from vibeforge.sandbox.api import Ctx, add_x_routes
    from vibeforge.sandbox.xrpc import XrpcCtx, add_unknown_method_route, add_xrpc_routes
    from vibeforge.sandbox.xrpc_app import add_app_routes

    app = FastAPI(title="vibeforge sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    ctx = Ctx(world, Authenticator(world.store), RateLimiter(limits or RateLimits()))
    add_x_routes(app, ctx)
    add_admin_routes(app, ctx)
    xrpc = XrpcCtx(world, xrpc_limits)
    add_xrpc_routes(app, xrpc)
    add_app_routes(app, xrpc)
    add_unknown_method_route(app)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, Any]:
        return {"ok": True, "seeded": world.seeded}

    async def unknown(request: Any, exc: Any) -> JSONResponse:
        status = getattr(exc, "status_code", 404)
        detail = "Sorry, that page does not exist" if status == 404 else str(exc.detail)
        return JSONResponse(
            {
                "title": "Not Found Error" if status == 404 else "Error",
                "detail": detail,
                "type": "about:blank",
                "status": status,
            },
            status_code=status,
        )

    app.add_exception_handler(StarletteHTTPException, unknown)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.state.ctx = ctx
    return app


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def list_uris(store: SandboxStore) -> dict[str, str]:
    """Each niche's list as the XRPC face names it (an `app.bsky.graph.list` AT URI), read
    from a world's store (no server needed: the CLI checks names with it)."""
    from vibeforge.sandbox.atids import LIST, at_uri, did_for, tid

    rows = store.all("SELECT id, niche, owner_id FROM lists")
    return {r[1]: at_uri(did_for("user", r[2]), LIST, tid(r[0])) for r in rows}


def feed_uris(niches: Iterable[str]) -> dict[str, str]:
    """Each niche's feed generator as an `app.bsky.feed.generator` AT URI."""
    from vibeforge.sandbox.atids import GENERATOR, at_uri, did_for
    from vibeforge.sandbox.world import SYSTEM_USER_ID

    owner = did_for("user", SYSTEM_USER_ID)
    return {n: at_uri(owner, GENERATOR, n.replace("_", "-")) for n in niches}


class RunningSandbox:
    """A sandbox served by uvicorn on a background thread; use as a context manager."""

    def __init__(
        self,
        *,
        world: World,
        host: str,
        port: int,
        limits: RateLimits | None,
        xrpc_limits: XrpcLimits | None = None,
    ) -> None:
        import uvicorn

        self.world = world
        self.host, self.port = host, port
        self.app = create_app(world, limits=limits, xrpc_limits=xrpc_limits)
        config = uvicorn.Config(
            self.app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, name="vibeforge-sandbox", daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def admin_token(self) -> str:
        return self.world.role_token("admin")

    @property
    def app_token(self) -> str:
        return self.world.role_token("app")

    def user_token(self, handle: str) -> str:
        return self.world.user_token(handle)

    def create_account(
        self,
        handle: str,
        *,
        niche: str | None = None,
        followers: int = 0,
        follow_niche: bool = True,
    ) -> str:
        """Create a bot account that can post; returns its user token."""
        return self.world.create_account(
            handle=handle, niche=niche, followers=followers, follow_niche=follow_niche
        )[1]

    def advance(self, *, hours: float = 0.0, seconds: float = 0.0) -> None:
        self.world.advance(hours * 3600 + seconds)

    def list_ids(self) -> dict[str, str]:
        return {r[1]: str(r[0]) for r in self.world.store.all("SELECT id, niche FROM lists")}

    def delete_post(self, post_id: str) -> None:
        """Delete anyone's post, as its author (or moderation) would."""
        self.world.delete_post(int(post_id))

    # -- the XRPC face's names for the same things -------------------------------------------
    @property
    def xrpc_url(self) -> str:
        """What the atproto SDK takes as `base_url`."""
        return f"{self.base_url}/xrpc"

    def handle(self, username: str) -> str:
        """The AT Protocol handle of a sandbox account (`mybot` → `mybot.test`)."""
        from vibeforge.sandbox.atids import handle_for

        return handle_for(username)

    def did(self, username: str) -> str:
        """The DID of an account named by its username or its handle (`mybot.test`)."""
        from vibeforge.sandbox.atids import did_for

        name = self.world.username(username)
        row = self.world.store.one("SELECT id FROM users WHERE username = ?", (name,))
        if row is None:
            raise SandboxError(f"no account @{username} in the sandbox world")
        return did_for("user", int(row[0]))

    def list_uris(self) -> dict[str, str]:
        """Each niche's list as an `app.bsky.graph.list` AT URI."""
        return list_uris(self.world.store)

    def feed_uris(self) -> dict[str, str]:
        """Each niche's feed generator as an `app.bsky.feed.generator` AT URI."""
        return feed_uris(self.world.spec.niches)

    def start(self) -> RunningSandbox:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise SandboxError(f"the sandbox could not listen on {self.host}:{self.port}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.world.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def open_world(
    *,
    home: Path,
    world: str = "demo",
    seed: int = 0,
    speed: float = 1.0,
    params: AudienceParams | None = None,
    reseed: bool = False,
    **overrides: Any,
) -> World:
    """The world under home/sandbox, seeded first when there is none (or when reseed)."""
    if speed < 0:
        raise SandboxError(f"speed ({speed}) must be >= 0; use 0 to freeze the clock")
    w = World(home=Home(home).sandbox, params=params, speed=speed)
    if reseed or not w.seeded:
        w.seed(world=world, seed=seed, **overrides)
    return w


def start_sandbox(
    *,
    home: Path,
    world: str = "demo",
    seed: int = 0,
    speed: float = 1.0,
    port: int = 0,
    host: str = "127.0.0.1",
    params: AudienceParams | None = None,
    limits: RateLimits | None = None,
    xrpc_limits: XrpcLimits | None = None,
    reseed: bool = False,
    **overrides: Any,
) -> RunningSandbox:
    """Open (seeding if needed) the world under `home` and serve it on a loopback port."""
    w = open_world(
        home=home, world=world, seed=seed, speed=speed, params=params, reseed=reseed, **overrides
    )
    try:
        return RunningSandbox(
            world=w,
            host=host,
            port=port or free_port(host),
            limits=limits,
            xrpc_limits=xrpc_limits,
        ).start()
    except BaseException:
        w.close()
        raise
