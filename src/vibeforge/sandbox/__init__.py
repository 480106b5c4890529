"""The sandbox: a local X-API-v2 platform with a simulated audience (docs/sandbox.md).

In-process use (the X client's tests, the demo, the loop)::

    from vibeforge.sandbox import start_sandbox

    with start_sandbox(home=tmp, world="tiny", seed=0, speed=0) as sb:
        token = sb.create_account("mybot", niche="airlines")   # a user token that can post
        sb.base_url, sb.app_token, sb.admin_token, sb.user_token("mybot")
        sb.advance(hours=6)                                      # platform time moves on

`start_sandbox(*, home, world="demo", seed=0, speed=1.0, port=0, host="127.0.0.1",
params=None, limits=None, reseed=False, **world_overrides)` seeds `home/sandbox/` the first time
(an existing world is kept across restarts), then serves it with uvicorn on a background thread.
`speed` is platform seconds per wall second (0 freezes the clock). `limits` is a `RateLimits`
(X's 15-minute numbers by default). Worlds: `demo` (airlines, apple, self_driving; MiniLM),
`wide` (all six niches), `tiny` (two niches, hashing embedder, for fast tests).
Command line: `vibeforge sandbox serve|seed|info|advance|trend|account|token`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AudienceParams", "RateLimits", "RunningSandbox", "World", "start_sandbox"]

_LAZY = {
    "start_sandbox": "vibeforge.sandbox.server",
    "RunningSandbox": "vibeforge.sandbox.server",
    "World": "vibeforge.sandbox.engine",
    "AudienceParams": "vibeforge.sandbox.model",
    "RateLimits": "vibeforge.sandbox.limits",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
