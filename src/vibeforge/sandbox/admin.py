"""Admin routes outside `/2` (admin token only): seed or reset a world, move the clock, schedule
trend events, create bot accounts, delete anyone's post, and read the hidden engagement truth
(for evaluation only)."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool

from vibeforge.sandbox.clock import MAX_JUMP_S, MAX_SPEED, iso, parse_iso
from vibeforge.sandbox.limits import Principal
from vibeforge.sandbox.problems import SandboxError, invalid, invalid_fields, not_found
from vibeforge.sandbox.world import WorldSpec
from vibeforge.sandbox.xhttp import MAX_ID, Ctx, body_json, parse_id, route

HOUR_S = 3600


class _Body(BaseModel):
    # JSON numbers only (no "1" strings, no true for 1), finite (no NaN, no 1e400 = inf)
    model_config = ConfigDict(strict=True, allow_inf_nan=False, extra="ignore")


class SeedBody(_Body):
    world: str = "demo"
    seed: int = Field(0, ge=0, le=MAX_ID)
    overrides: dict[str, Any] = Field(default_factory=dict)  # WorldSpec fields; it checks them

    @field_validator("overrides")
    @classmethod
    def _known(cls, value: dict[str, Any]) -> dict[str, Any]:
        fields = set(WorldSpec.__dataclass_fields__) - {"name"}
        if unknown := sorted(set(value) - fields):
            raise ValueError(f"unknown fields {unknown}; world fields are {sorted(fields)}")
        return value


class AdvanceBody(_Body):
    seconds: float = Field(0.0, ge=0, le=MAX_JUMP_S)
    hours: float = Field(0.0, ge=0, le=MAX_JUMP_S / HOUR_S)


class SpeedBody(_Body):
    speed: float = Field(ge=0, le=MAX_SPEED)


class TrendBody(_Body):
    niche: str
    text: str = ""
    at: str | None = None  # ISO 8601; else now + in_hours
    in_hours: float = Field(0.0, ge=0, le=MAX_JUMP_S / HOUR_S)
    strength: float = Field(1.0, gt=0, le=5)


class AccountBody(_Body):
    username: str = Field(pattern=r"^[A-Za-z0-9_]{1,15}$")
    niche: str | None = None
    followers: int = Field(0, ge=0, le=10_000_000)
    follow_niche: bool = True


class EvaluateBody(_Body):
    texts: list[str] = Field(min_length=1, max_length=1000)
    author_id: int | str
    at: str | None = None
    has_media: bool = False  # score each text as a post with an image


B = TypeVar("B", bound=_Body)


async def _parse(request: Request, model: type[B]) -> B:
    """The JSON body as `model`, or a 400 naming every field that is wrong."""
    try:
        return model.model_validate(body_json(await request.body()))
    except ValidationError as exc:
        raise invalid_fields(
            [
                (".".join(str(part) for part in e["loc"]) or "body", e["msg"], e.get("input"))
                for e in exc.errors()
            ]
        ) from None


def _time(value: str, name: str) -> int:
    try:
        return parse_iso(value)
    except ValueError:
        raise invalid(f"`{name}` must be an ISO 8601 time", parameter=name, value=value) from None


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
                {"id": str(r[0]), "name": r[1], "niche": r[2]}
                for r in world.store.all("SELECT id, name, niche FROM lists ORDER BY id")
            ],
        }

    async def seed(request: Request, p: Principal) -> tuple[int, Any]:
        body = await _parse(request, SeedBody)
        await _guard(world.seed, world=body.world, seed=body.seed, **body.overrides)
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
        body = await _parse(request, AdvanceBody)
        now = await _guard(world.advance, body.seconds + HOUR_S * body.hours)
        return 200, {"now": iso(now)}

    async def speed(request: Request, p: Principal) -> tuple[int, Any]:
        body = await _parse(request, SpeedBody)
        await _guard(world.set_speed, body.speed)
        return 200, {"speed": world.clock.speed, "now": iso(world.now_ms())}

    async def add_trend(request: Request, p: Principal) -> tuple[int, Any]:
        body = await _parse(request, TrendBody)
        if body.at is not None:
            at_ms = _time(body.at, "at")
        else:
            at_ms = world.now_ms() + int(3_600_000 * body.in_hours)
        result = await _guard(
            world.add_trend,
            niche=body.niche,
            text=body.text,
            at_ms=at_ms,
            strength=body.strength,
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
        body = await _parse(request, AccountBody)
        uid, token = await _guard(
            world.create_account,
            handle=body.username,
            niche=body.niche,
            followers=body.followers,
            follow_niche=body.follow_niche,
        )
        return 201, {"id": str(uid), "username": body.username, "token": token}

    async def app_token(request: Request, p: Principal) -> tuple[int, Any]:
        # what a loop against this sandbox reads with (vibeforge.sandbox.remote)
        return 200, {"app_token": world.role_token("app")}

    async def token(request: Request, p: Principal) -> tuple[int, Any]:
        try:
            return 200, {"token": world.user_token(request.path_params["username"])}
        except SandboxError as exc:
            raise not_found(str(exc)) from None

    async def delete_post(request: Request, p: Principal) -> tuple[int, Any]:
        # anyone's post, as a person deleting theirs (or moderation) would: what compliance
        # deletes downstream (reads then skip it, as X's do)
        pid = parse_id(request.path_params["id"], "id")
        row = world.store.one("SELECT deleted FROM posts WHERE id = ?", (pid,))
        if row is None:
            raise not_found(f"no post {pid}")
        if not row[0]:
            await run_in_threadpool(world.delete_post, pid)
        return 200, {"data": {"id": str(pid), "deleted": True}}

    async def truth(request: Request, p: Principal) -> tuple[int, Any]:
        raw = request.query_params.get("ids") or ""
        ids = [parse_id(x, "ids") for x in raw.split(",") if x]
        if not ids:
            raise invalid("give `ids`, comma-separated", parameter="ids", value=raw)
        found = [t for t in (await run_in_threadpool(lambda: [world.truth(i) for i in ids])) if t]
        return 200, {"data": found}

    async def evaluate(request: Request, p: Principal) -> tuple[int, Any]:
        body = await _parse(request, EvaluateBody)
        author = parse_id(str(body.author_id), "author_id")
        at = _time(body.at, "at") if body.at else None
        results = await _guard(
            world.evaluate,
            texts=body.texts,
            author_id=author,
            at_ms=at,
            has_media=body.has_media,
        )
        return 200, {"data": results}

    add("/admin/world", "GET", info)
    add("/admin/world", "POST", seed)
    add("/admin/reset", "POST", reset)
    add("/admin/clock/advance", "POST", advance)
    add("/admin/clock/speed", "POST", speed)
    add("/admin/trends", "POST", add_trend)
    add("/admin/trends", "GET", trends)
    add("/admin/accounts", "POST", create_account)
    add("/admin/tokens", "GET", app_token)
    add("/admin/tokens/{username}", "GET", token)
    add("/admin/posts/{id}", "DELETE", delete_post)
    add("/admin/truth", "GET", truth)
    add("/admin/evaluate", "POST", evaluate)
