"""Pages and error responses from the dashboard's Jinja templates, with the shared context.

The app factory, the read-only pages and the actions all render through here, so none of them
imports another to reach the templates.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from vibeforge.web.security import CSRF_FIELD, TokenAuth

HERE = Path(__file__).parent


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def error_response(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    return render(
        request,
        "error.html",
        {"title": f"Error {status}", "status": status, "message": message},
        status=status,
    )


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["when"] = _when
    templates.env.filters["num"] = _num
    templates.env.filters["pct"] = _pct
    templates.env.filters["platform"] = platform_label
    return templates


PLATFORM_LABELS = {  # registered platform kinds as the pages name them
    "x": "X",
    "bluesky": "Bluesky",
    "sandbox": "sandbox (X API)",
    "sandbox_bluesky": "sandbox (Bluesky)",
}


def platform_label(kind: str | None) -> str:
    """A platform kind as people read it; "-" for none (a bot without a timeline)."""
    return "-" if not kind else PLATFORM_LABELS.get(kind, kind)


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
