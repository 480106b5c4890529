"""Errors in X's shapes (spec 2.167's `Problem`): problem details `{"title","detail","type",
"status"}` answered as `application/problem+json`, types under `https://api.x.com/2/problems/`;
400s also carry an `errors[]` list naming the offending parameters (what X sends beside the
problem), and the spec's `parameter`/`value` when one parameter is at fault."""

from __future__ import annotations

from typing import Any

from vibeforge.errors import VibeforgeError

PROBLEMS = "https://api.x.com/2/problems/"
PROBLEM_JSON = "application/problem+json"  # the content type of every error answer


class SandboxError(VibeforgeError):
    """The sandbox cannot do what was asked (no world seeded, a bad option)."""


class ApiError(Exception):
    """An HTTP error answered in X's JSON shape."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type_: str = "about:blank",
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.type, self.errors = (
            status,
            title,
            detail,
            type_,
            errors,
        )
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "title": self.title,
            "detail": self.detail,
            "type": self.type,
            "status": self.status,
            **self.extra,
        }
        if self.errors:
            body["errors"] = self.errors
        return body


def invalid(message: str, *, parameter: str | None = None, value: Any = None) -> ApiError:
    error: dict[str, Any] = {"message": message}
    extra: dict[str, Any] = {}
    if parameter is not None:
        error["parameters"] = {parameter: [str(value)]}
        extra = {"parameter": parameter, "value": str(value)}
    return ApiError(
        400,
        "Invalid Request",
        "One or more parameters to your request was invalid.",
        type_=PROBLEMS + "invalid-request",
        errors=[error],
        extra=extra,
    )


def invalid_fields(problems: list[tuple[str, str, Any]]) -> ApiError:
    """A 400 naming each bad field: (parameter, what is wrong, the value given)."""
    return ApiError(
        400,
        "Invalid Request",
        "One or more parameters to your request was invalid.",
        type_=PROBLEMS + "invalid-request",
        errors=[
            {"message": f"`{name}`: {why}", "parameters": {name: [str(value)[:100]]}}
            for name, why, value in problems
        ],
    )


def payload_too_large(limit: int) -> ApiError:
    return ApiError(413, "Payload Too Large", f"The request body is larger than {limit} bytes.")


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(detail: str, *, type_: str = "about:blank") -> ApiError:
    return ApiError(403, "Forbidden", detail, type_=type_)


def app_only_forbidden() -> ApiError:
    return ApiError(
        403,
        "Unsupported Authentication",
        "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
        "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
        type_=PROBLEMS + "unsupported-authentication",
    )


def not_found(detail: str = "Sorry, that page does not exist") -> ApiError:
    return ApiError(404, "Not Found Error", detail, type_=PROBLEMS + "resource-not-found")


def too_many_requests() -> ApiError:
    return ApiError(429, "Too Many Requests", "Too Many Requests")


def resource_missing(kind: str, value: str, parameter: str = "id") -> dict[str, Any]:
    """A partial error: what X puts in `errors[]` next to `data` for an unknown id."""
    label = "tweet" if kind == "tweet" else "user"
    return {
        "value": value,
        "detail": f"Could not find {label} with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": label,
        "parameter": parameter,
        "resource_id": value,
        "type": PROBLEMS + "resource-not-found",
    }
