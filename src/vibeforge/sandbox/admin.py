"""Admin routes outside `/2` (admin token only): seed or reset a world, move the clock, schedule
trend events, create bot accounts, and read the hidden engagement truth (for evaluation only)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from vibeforge.sandbox.api import Ctx, body_json, parse_id, route
from vibeforge.sandbox.clock import iso, parse_iso
from vibeforge.sandbox.limits import Principal
from vibeforge.sandbox.problems import SandboxError, invalid, not_found


def _number(data: dict[str, Any], name: str, default: float | None = None) -> float:
    value = data.get(name, default)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise invalid(f"`{name}` must be a number", parameter=name, value=value)
    return float(value)


async def _guard(call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return await run_in_threadpool(call, *args, **kwargs)
    except (SandboxError, ValueError) as exc:
        raise invalid(str(exc)) from None


def add_admin_routes(app: FastAPI, ctx: Ctx) -> None:
    world = ctx.world

    def add(path: str, method: str, handler: Any) -> None:
        app.add_api_route(
            path,
            route(ctx, None, handler, roles=("admin",)),
            methods=[method],
            include_in_schema=False,
        )

    async def info(request: Request, p: Principal) -> tuple[int, Any]:
        counts = {
            t: world.store.count(f"SELECT COUNT(*) FROM {t}")
            for t in ("users", "posts", "lists", "trends")
        }
        audience = world.audience
        return 200, {
            "world": world.store.get_meta("world"),
            "seed": world.seed_value,
            "now": iso(world.now_ms()),
            "speed": world.clock.speed,
            "counts": counts,
            "members": 0 if audience is None else len(audience.activity),
            "lists": [
                {"id": str(r[0]), "name": r[1]}
                for r in world.store.all("SELECT id, name FROM lists ORDER BY id")
            ],
        }

    async def seed(request: Request, p: Principal) -> tuple[int, Any]:
        data = body_json(await request.body())
        overrides = data.get("overrides") or {}
        if not isinstance(overrides, dict):
            raise invalid("`overrides` must be an object of WorldSpec fields")
        await _guard(
            world.seed,
            world=str(data.get("world", "demo")),
            seed=int(_number(data, "seed", 0)),
            **overrides,
        )
        ctx.auth.forget()
        # the world's tokens are new: hand back the admin token that now works
        return 201, {"admin_token": world.role_token("admin"), "app_token": world.role_token("app")}

    async def reset(request: Request, p: Principal) -> tuple[int, Any]:
        spec = world.spec.to_dict()
        name = spec.pop("name")
        await _guard(world.seed, world=name, seed=world.seed_value, **spec)
        ctx.auth.forget()
        return 201, {"admin_token": world.role_token("admin"), "app_token": world.role_token("app")}

    async def advance(request: Request, p: Principal) -> tuple[int, Any]:
        data = body_json(await request.body())
        seconds = _number(data, "seconds", 0) + 3600 * _number(data, "hours", 0)
        now = await _guard(world.advance, seconds)
        return 200, {"now": iso(now)}

    async def speed(request: Request, p: Principal) -> tuple[int, Any]:
        data = body_json(await request.body())
        await _guard(world.clock.set_speed, _number(data, "speed"))
        world.speed = world.clock.speed
        return 200, {"speed": world.clock.speed, "now": iso(world.now_ms())}

    async def add_trend(request: Request, p: Principal) -> tuple[int, Any]:
        data = body_json(await request.body())
        if "at" in data:
            try:
                at_ms = parse_iso(str(data["at"]))
            except ValueError:
                raise invalid(
                    "`at` must be an ISO 8601 time", parameter="at", value=data["at"]
                ) from None
        else:
            at_ms = world.now_ms() + int(3_600_000 * _number(data, "in_hours", 0))
        result = await _guard(
            world.add_trend,
            niche=str(data.get("niche")),
            text=str(data.get("text", "")),
            at_ms=at_ms,
            strength=_number(data, "strength", 1.0),
        )
        return 201, {**result, "at": iso(at_ms)}

    async def trends(request: Request, p: Principal) -> tuple[int, Any]:
        rows = world.store.all("SELECT id, niche, at_ms, text, strength FROM trends ORDER BY at_ms")
        return 200, {
            "data": [
                {"id": r[0], "niche": r[1], "at": iso(r[2]), "text": r[3], "strength": r[4]}
                for r in rows
            ]
        }

    async def create_account(request: Request, p: Principal) -> tuple[int, Any]:
        data = body_json(await request.body())
        handle = data.get("username")
        if not isinstance(handle, str) or not handle.replace("_", "").isalnum() or len(handle) > 15:
            raise invalid(
                "`username` must be 1-15 letters, digits or '_'", parameter="username", value=handle
            )
        uid, token = await _guard(
            world.create_account,
            handle=handle,
            niche=data.get("niche"),
            followers=int(_number(data, "followers", 0)),
            follow_niche=bool(data.get("follow_niche", True)),
        )
        return 201, {"id": str(uid), "username": handle, "token": token}

    async def token(request: Request, p: Principal) -> tuple[int, Any]:
        try:
            return 200, {"token": world.user_token(request.path_params["username"])}
        except SandboxError as exc:
            raise not_found(str(exc)) from None

    async def truth(request: Request, p: Principal) -> tuple[int, Any]:
        raw = request.query_params.get("ids") or ""
        ids = [parse_id(x, "ids") for x in raw.split(",") if x]
        if not ids:
            raise invalid("give `ids`, comma-separated", parameter="ids", value=raw)
        found = [t for t in (await run_in_threadpool(lambda: [world.truth(i) for i in ids])) if t]
        return 200, {"data": found}

    async def evaluate(request: Request, p: Principal) -> tuple[int, Any]:
        data = body_json(await request.body())
        texts = data.get("texts")
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            raise invalid(
                "`texts` must be a non-empty list of strings", parameter="texts", value=texts
            )
        author = parse_id(str(data.get("author_id")), "author_id")
        at = parse_iso(str(data["at"])) if data.get("at") else None
        results = await _guard(world.evaluate, texts=texts, author_id=author, at_ms=at)
        return 200, {"data": results}

    add("/admin/world", "GET", info)
    add("/admin/world", "POST", seed)
    add("/admin/reset", "POST", reset)
    add("/admin/clock/advance", "POST", advance)
    add("/admin/clock/speed", "POST", speed)
    add("/admin/trends", "POST", add_trend)
    add("/admin/trends", "GET", trends)
    add("/admin/accounts", "POST", create_account)
    add("/admin/tokens/{username}", "GET", token)
    add("/admin/truth", "GET", truth)
    add("/admin/evaluate", "POST", evaluate)
