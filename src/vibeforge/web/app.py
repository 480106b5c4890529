"""The dashboard's app factory: FastAPI + Jinja templates + locally served Chart.js.

`create_app(settings)` opens the store from settings; tests and embedders pass `engine=` and
`token=` instead (and `throttle=`, e.g. with a fake clock). Nothing is created at import time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from vibeforge.analytics.trends import TrendEvent
from vibeforge.errors import NotFoundError, VibeforgeError
from vibeforge.web import actions, pages
from vibeforge.web.options import DashboardOptions
from vibeforge.web.render import HERE, error_response, make_templates
from vibeforge.web.security import (
    OPEN_POSTS,
    SAFE_METHODS,
    LoginThrottle,
    TokenAuth,
    bearer_attempt,
    client_address,
    lockout_message,
    new_token,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from vibeforge.config import Settings

TrendEvents = Callable[[str], Sequence[TrendEvent]]  # niche -> its scheduled trend events

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    token: str | None = None,
    options: DashboardOptions | None = None,
    trend_events: TrendEvents | None = None,
    throttle: LoginThrottle | None = None,
) -> FastAPI:
    """The dashboard app over a store; state changes need `token` (or the settings' one)."""
    if engine is None:
        if settings is None:
            raise ValueError("create_app needs settings or an engine")
        from vibeforge.store import make_engine, require_schema

        engine = make_engine(settings.db_url)
        require_schema(engine)
    if token is None and settings is not None and settings.secrets.dashboard_token is not None:
        token = settings.secrets.dashboard_token.get_secret_value()
    # without a configured token, a random one nobody knows: the dashboard is then read-only
    auth = TokenAuth(token or new_token())

    app = FastAPI(title="vibeforge dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine = engine
    app.state.auth = auth
    app.state.throttle = throttle = throttle or LoginThrottle()
    app.state.options = options or DashboardOptions()
    if trend_events is None and settings is not None and settings.platform.kind == "sandbox":
        from vibeforge.web.sandbox_events import SandboxTrendEvents

        trend_events = SandboxTrendEvents(settings.home, engine)
    app.state.trend_events = trend_events or (lambda niche: ())
    app.state.templates = make_templates()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def _guard(request: Request, call_next: Callable[..., Any]) -> Response:
        # a Bearer header is a token attempt on any route (pages show more to the right one)
        wait = None
        if bearer_attempt(request):
            client = client_address(request)
            wait = throttle.retry_after(client)
            if wait is None and auth.bearer_ok(request):
                throttle.success(client)
            elif wait is None:
                throttle.failure(client)
        response: Response
        if wait is not None:
            response = error_response(request, 429, lockout_message(wait))
            response.headers["Retry-After"] = str(wait)
        elif (
            request.method not in SAFE_METHODS
            and request.url.path not in OPEN_POSTS
            and not (auth.bearer_ok(request) or auth.session_ok(request))
        ):
            response = error_response(
                request, 401, "the dashboard token is required for changes; log in first"
            )
            response.headers["WWW-Authenticate"] = "Bearer"
        else:
            response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # not "no-referrer": with it, browsers send `Origin: null` on same-origin form posts
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> Response:
        return error_response(request, 404, str(exc))

    @app.exception_handler(VibeforgeError)
    async def _conflict(request: Request, exc: VibeforgeError) -> Response:
        return error_response(request, 409, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        response = error_response(request, exc.status_code, str(exc.detail))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    app.include_router(pages.router)
    app.include_router(actions.router)
    return app
