"""`vibeforge sandbox`: serve, seed and steer the local sandbox (X API v2 and Bluesky XRPC)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from vibeforge.cli.common import console, ensure_home, print_json, state
from vibeforge.paths import Home

if TYPE_CHECKING:
    from vibeforge.sandbox.engine import World

app = typer.Typer(
    help="The local sandbox (X API v2, Bluesky XRPC) with a simulated audience.",
    no_args_is_help=True,
)

HOST = typer.Option("127.0.0.1", "--host", help="Interface to bind (keep loopback).")
WORLD = typer.Option("demo", "--world", help="World to seed when none exists: demo, wide, tiny.")
SEED = typer.Option(0, "--seed", help="Seed of the world (same seed, same world).")
SPEED = typer.Option(60.0, "--speed", help="Platform seconds per wall second (0 freezes).")


def _home(ctx: typer.Context) -> Path:
    return ensure_home(state(ctx).settings().home)


def _world(ctx: typer.Context, speed: float = 0.0) -> World:
    from vibeforge.sandbox.engine import World
    from vibeforge.sandbox.problems import SandboxError

    world = World(home=Home(_home(ctx)).sandbox, speed=speed)
    if not world.seeded:
        world.close()
        raise SandboxError("no sandbox world yet; run `vibeforge sandbox seed` first")
    return world


@app.command()
def serve(
    ctx: typer.Context,
    host: str = HOST,
    port: int = typer.Option(
        8787, "--port", min=0, max=65535, help="TCP port (0 picks a free one)."
    ),
    world: str = WORLD,
    speed: float = SPEED,
    seed: int = SEED,
    reseed: bool = typer.Option(False, "--reseed", help="Replace an existing world."),
) -> None:
    """Serve the sandbox until interrupted (the world persists across restarts)."""
    import signal
    import threading

    from vibeforge.sandbox.server import start_sandbox

    console.print(f"seeding/opening world [bold]{world}[/] (first run embeds the corpus)...")
    sb = start_sandbox(
        home=_home(ctx), world=world, seed=seed, speed=speed, port=port, host=host, reseed=reseed
    )
    console.print(f"sandbox at [bold]{sb.base_url}[/] (admin token: vibeforge sandbox info)")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # a clean stop saves the clock
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()
        console.print("sandbox stopped")


@app.command()
def seed(ctx: typer.Context, world: str = WORLD, seed: int = SEED) -> None:
    """Seed (or replace) the sandbox world."""
    from vibeforge.sandbox.server import open_world

    w = open_world(home=_home(ctx), world=world, seed=seed, speed=0, reseed=True)
    console.print(
        f"seeded world {world} (seed {seed}): {w.store.count('SELECT COUNT(*) FROM posts')} posts"
    )
    w.close()


@app.command()
def info(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """The world, its clock, lists and tokens (the tokens are secrets: local use only)."""
    from vibeforge.sandbox.clock import iso, resume_ms
    from vibeforge.sandbox.problems import SandboxError
    from vibeforge.sandbox.server import feed_uris, list_uris
    from vibeforge.sandbox.store import SandboxStore

    # read the store, not a World: opening one would re-anchor the clock of a running server
    store = SandboxStore(_home(ctx) / "sandbox" / "sandbox.db")
    try:
        if store.get_meta("world") is None:
            raise SandboxError("no sandbox world yet; run `vibeforge sandbox seed` first")
        rows = store.all("SELECT role, token FROM tokens WHERE role != 'user'")
        tokens: dict[str, str] = {str(r[0]): str(r[1]) for r in rows}
        data = {
            "world": store.get_meta("world"),
            "seed": store.get_meta("seed", 0),
            "now": iso(resume_ms(store.get_meta("clock_ms", 0), store.get_meta("clock_anchor"))),
            "lists": {r[1]: str(r[0]) for r in store.all("SELECT id, niche FROM lists")},
            # the same lists, and each niche's feed, as the XRPC (Bluesky) face names them
            "list_uris": list_uris(store),
            "feed_uris": feed_uris(str(r[0]) for r in store.all("SELECT niche FROM lists")),
            "admin_token": tokens["admin"],
            "app_token": tokens["app"],
        }
    finally:
        store.close()
    if as_json:
        print_json(data)
    else:
        for key, value in data.items():
            console.print(f"[bold]{key}[/]: {value}", highlight=False)


@app.command()
def account(
    ctx: typer.Context,
    handle: str,
    niche: str = typer.Option(None, "--niche"),
    followers: int = typer.Option(0, "--followers"),
) -> None:
    """Create a bot account that can post; prints its user token."""
    from vibeforge.sandbox.atids import handle_for

    w = _world(ctx)
    try:
        uid, token = w.create_account(handle=handle, niche=niche, followers=followers)
    finally:
        w.close()
    console.print(f"@{handle} id={uid} token={token}", highlight=False)
    console.print(f"on the Bluesky face: {handle_for(handle)} (app password: the token)")


@app.command()
def token(ctx: typer.Context, handle: str) -> None:
    """Print an account's user token: its X bearer token and its Bluesky app password here.
    HANDLE is its username or its Bluesky handle (mybot or mybot.test)."""
    from vibeforge.sandbox.engine import user_token_of
    from vibeforge.sandbox.problems import SandboxError
    from vibeforge.sandbox.store import SandboxStore

    path = Home(_home(ctx)).sandbox_world.database
    if not path.exists():
        raise SandboxError("no sandbox world yet; run `vibeforge sandbox seed` first")
    store = SandboxStore(path)  # the store, not a World: see info
    try:
        value = user_token_of(store, handle)
    finally:
        store.close()
    console.print(value, highlight=False, soft_wrap=True)


# a negative number reaches the argument (and its range check) instead of reading as an option
@app.command(context_settings={"ignore_unknown_options": True})
def advance(
    ctx: typer.Context,
    hours: float = typer.Argument(..., min=0, help="Hours to jump forward (>= 0)."),
) -> None:
    """Move platform time forward (only while no server holds the world)."""
    from vibeforge.errors import ConfigError
    from vibeforge.sandbox.clock import iso

    w = _world(ctx)
    try:
        now = w.advance(hours * 3600)
    except ValueError as exc:  # past the clock's range
        raise ConfigError(str(exc)) from None
    finally:
        w.close()
    console.print(f"platform time is now {iso(now)}")


@app.command()
def trend(
    ctx: typer.Context,
    niche: str,
    text: str,
    in_hours: float = typer.Option(0.0, "--in-hours"),
    strength: float = typer.Option(1.0, "--strength"),
) -> None:
    """Schedule a trend: the niche's interests and its humans' posts move toward TEXT."""
    w = _world(ctx)
    try:
        result = w.add_trend(
            niche=niche, text=text, at_ms=w.now_ms() + int(in_hours * 3_600_000), strength=strength
        )
    finally:
        w.close()
    console.print(f"trend {result['id']} on {niche}: {result['resampled_posts']} posts resampled")
