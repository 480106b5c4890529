"""Everything that changes state: login/logout, approving or rejecting queued posts.

Form routes redirect back to a page (303, post/redirect/get); `/api/...` routes answer JSON and
are meant for `Authorization: Bearer` callers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from vibeforge.store import approvals, session_scope
from vibeforge.store import queries as q
from vibeforge.web.render import render
from vibeforge.web.security import (
    COOKIE,
    LoginThrottle,
    TokenAuth,
    client_address,
    form_fields,
    lockout_message,
    require_write,
    safe_next,
)

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", {"title": "Log in", "next": safe_next(next)})


@router.post("/login")
async def login(request: Request) -> Response:
    auth: TokenAuth = request.app.state.auth
    throttle: LoginThrottle = request.app.state.throttle
    client = client_address(request)
    fields = await form_fields(request)
    target = safe_next(fields.get("next"))
    wait = throttle.retry_after(client)  # checked first: a lockout holds even the right token
    if wait is not None:
        page = render(
            request,
            "login.html",
            {"title": "Log in", "next": target, "error": lockout_message(wait)},
            status=429,
        )
        page.headers["Retry-After"] = str(wait)
        return page
    if not auth.token_ok(fields.get("token")):
        throttle.failure(client)
        return render(
            request,
            "login.html",
            {"title": "Log in", "next": target, "error": "wrong token"},
            status=401,
        )
    throttle.success(client)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE, auth.session_value, httponly=True, samesite="strict", path="/", max_age=12 * 3600
    )
    return response


@router.post("/logout", dependencies=[Depends(require_write)])
def logout() -> Response:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _decide(request: Request, candidate_id: int, verb: str) -> str:
    with session_scope(request.app.state.engine) as session:
        if verb == "approve":
            pub = approvals.approve(session, candidate_id=candidate_id)
            return f"approved {candidate_id}: queued for publishing as {pub.idempotency_key}"
        approvals.reject(session, candidate_id=candidate_id)
        return f"rejected {candidate_id}"


@router.post("/approvals/{candidate_id}/approve", dependencies=[Depends(require_write)])
def approve_form(request: Request, candidate_id: int) -> Response:
    message = _decide(request, candidate_id, "approve")
    return RedirectResponse(f"/approvals?done={quote(message)}", status_code=303)


@router.post("/approvals/{candidate_id}/reject", dependencies=[Depends(require_write)])
def reject_form(request: Request, candidate_id: int) -> Response:
    message = _decide(request, candidate_id, "reject")
    return RedirectResponse(f"/approvals?done={quote(message)}", status_code=303)


@router.get("/api/approvals")
def queued_json(request: Request) -> list[dict[str, Any]]:
    with session_scope(request.app.state.engine) as session:
        items = approvals.queued(session)
    return [
        {
            "id": c.id,
            "bot": c.bot,
            "text": c.text,
            "predicted_reward": c.predicted_reward,
            "created_at": c.created_at.isoformat() if c.created_at else None,
        }
        for c in items
    ]


@router.post("/api/approvals/{candidate_id}/approve", dependencies=[Depends(require_write)])
def approve_json(request: Request, candidate_id: int) -> dict[str, Any]:
    with session_scope(request.app.state.engine) as session:
        pub = approvals.approve(session, candidate_id=candidate_id)
    return {"candidate_id": candidate_id, "idempotency_key": pub.idempotency_key}


@router.post("/api/approvals/{candidate_id}/reject", dependencies=[Depends(require_write)])
def reject_json(request: Request, candidate_id: int) -> dict[str, Any]:
    with session_scope(request.app.state.engine) as session:
        approvals.reject(session, candidate_id=candidate_id)
        status = next(c.status.value for c in q.list_candidates(session) if c.id == candidate_id)
    return {"candidate_id": candidate_id, "status": status}
