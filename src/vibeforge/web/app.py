"""The dashboard's app factory: FastAPI + Jinja templates + locally served Chart.js.

`create_app(settings)` opens the store from settings; tests and embedders pass `engine=` and
`token=` instead. Nothing is created at import time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from vibeforge.analytics.trends import BurstConfig, TrendEvent
from vibeforge.errors import NotFoundError, VibeforgeError
from vibeforge.web.security import CSRF_FIELD, OPEN_POSTS, SAFE_METHODS, TokenAuth, new_token

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from vibeforge.config import Settings

HERE = Path(__file__).parent
TrendEvents = Callable[[str], Sequence[TrendEvent]]  # niche -> its scheduled trend events

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class DashboardOptions:
    bursts: BurstConfig = field(default_factory=BurstConfig)  # trend detection per niche
    drift_window_s: float = 3600.0  # window of the language-shift charts, seconds
    embeddings: bool = True  # centroid drift with MiniLM; False: token divergence only
    embed_per_window: int = 32  # texts embedded per window and series (a seeded sample)
    drift_windows: int = 48  # newest windows shown on the language-shift charts
    recent_posts: int = 25  # posts shown on a bot's page

    def __post_init__(self) -> None:
        if self.drift_window_s <= 0:
            raise ValueError(f"drift_window_s ({self.drift_window_s}) must be > 0; use 3600")
        if self.embed_per_window < 1 or self.drift_windows < 1:
            raise ValueError("embed_per_window and drift_windows must be >= 1; use 32 and 48")
        if self.recent_posts < 1:
            raise ValueError(f"recent_posts ({self.recent_posts}) must be >= 1; use 25")


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    token: str | None = None,
    options: DashboardOptions | None = None,
    trend_events: TrendEvents | None = None,
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
    app.state.options = options or DashboardOptions()
    if trend_events is None and settings is not None and settings.platform.kind == "sandbox":
        from vibeforge.web.sandbox_events import SandboxTrendEvents

        trend_events = SandboxTrendEvents(settings.home, engine)
    app.state.trend_events = trend_events or (lambda niche: ())
    app.state.templates = _templates()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def _guard(request: Request, call_next: Callable[..., Any]) -> Response:
        if (
            request.method not in SAFE_METHODS
            and request.url.path not in OPEN_POSTS
            and not (auth.bearer_ok(request) or auth.session_ok(request))
        ):
            response: Response = _error(
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
        return _error(request, 404, str(exc))

    @app.exception_handler(VibeforgeError)
    async def _conflict(request: Request, exc: VibeforgeError) -> Response:
        return _error(request, 409, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        response = _error(request, exc.status_code, str(exc.detail))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    from vibeforge.web import actions, pages

    app.include_router(pages.router)
    app.include_router(actions.router)
    return app


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def _error(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    return render(
        request,
        "error.html",
        {"title": f"Error {status}", "status": status, "message": message},
        status=status,
    )


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["when"] = _when
    templates.env.filters["num"] = _num
    templates.env.filters["pct"] = _pct
    return templates


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M")


def _num(value: float | int | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def render(
    request: Request, name: str, context: dict[str, Any], *, status: int = 200
) -> HTMLResponse:
    """A page with the shared context: whether the visitor may change state, and its CSRF."""
    auth: TokenAuth = request.app.state.auth
    authed = auth.session_ok(request) or auth.bearer_ok(request)
    full = {
        "authed": authed,
        "csrf_field": CSRF_FIELD,
        "csrf": auth.csrf_value if authed else "",
        "path": request.url.path,
        **context,
    }
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, full, status_code=status)
