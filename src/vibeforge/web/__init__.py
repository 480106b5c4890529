"""The dashboard: `create_app(settings)` builds the FastAPI app; nothing is created on import."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vibeforge.web.app import DashboardOptions, create_app

__all__ = ["DashboardOptions", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from vibeforge.web import app

        return getattr(app, name)
    raise AttributeError(name)
