"""`vibeforge run` and `vibeforge stop`: the continuous loop and its kill switch."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from vibeforge.cli.common import console, ensure_home, open_engine, state
from vibeforge.errors import ConfigError

if TYPE_CHECKING:
    from vibeforge.config import Settings
    from vibeforge.domain import Bot
    from vibeforge.sandbox.remote import RemoteSandbox
    from vibeforge.sandbox.server import RunningSandbox


def run(
    ctx: typer.Context,
    executor: str = typer.Option("local", "--executor", help="local or ray."),
    rounds: int = typer.Option(
        0, "--rounds", min=0, help="Stop after N rounds (0: until stopped)."
    ),
    interval: float = typer.Option(60.0, "--interval", min=0, help="Wall seconds between rounds."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Everything but publishing."),
    approval: bool = typer.Option(
        False, "--approval", help="Queue posts for 'vibeforge approvals'."
    ),
    speed: float = typer.Option(60.0, "--speed", min=0, help="Sandbox: platform s per wall s."),
    world: str = typer.Option("demo", "--world", help="Sandbox: world to seed if none exists."),
    followers: int = typer.Option(
        300, "--followers", min=0, help="Sandbox: followers of new bot accounts."
    ),
) -> None:
    """Run the loop (ingest, observe, learn, act) until stopped: SIGTERM, Ctrl-C, vibeforge stop."""
    import signal
    import sys
    import threading
    from dataclasses import replace

    from vibeforge.loop.build import FleetSpec, RuntimeSpec, shared_base_model
    from vibeforge.loop.cycle import RoundReport
    from vibeforge.loop.executors import make_executor
    from vibeforge.loop.runtime import STOP_FLAG
    from vibeforge.loop.supervise import run_loop
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope, upgrade

    settings = state(ctx).settings()
    home = ensure_home(settings.home)
    engine = open_engine(ctx, require=False)
    upgrade(engine)
    with session_scope(engine) as s:
        q.set_flag(s, name=STOP_FLAG, value=None)  # a new run clears the kill switch
        bots = q.list_bots(s)
    if not bots:
        raise ConfigError("no bots to run: create one with 'vibeforge bot create'")
    config = replace(
        settings.loop,
        dry_run=dry_run or settings.loop.dry_run,
        approval=approval or settings.loop.approval,
    )
    groups = bots_by_platform(settings, bots)  # a fleet may mix platforms: a runtime for each
    on = {name: settings.on(name) for name in groups}
    on_sandbox = {name: group for name, group in on.items() if group.platform.kind == "sandbox"}
    if not on_sandbox:
        why = "platform.kind is not sandbox" if len(on) == 1 else "no bot is on the sandbox"
        _refuse_ignored(ctx, ("world", "speed", "followers"), why=why)
    elif all(group.platform.base_url for group in on_sandbox.values()):
        # served by another process: its own world and clock
        _refuse_ignored(ctx, ("world", "speed"), why="an external sandbox keeps its own world")
    # one sandbox per URL (None: served by this process), whose two faces serve every platform
    # of kind sandbox
    served: dict[str | None, RunningSandbox | RemoteSandbox] = {}
    try:
        for name, group in on_sandbox.items():
            url = group.platform.base_url
            if url not in served:
                served[url] = connect_sandbox(group) if url else _start(home, world, speed)
            _sandbox_accounts(served[url], groups[name], followers=followers)
        mixed = len(groups) > 1  # one platform: every bot of the store, as ever
        # a fleet's runtimes share one bank: one base model for all the bots
        model = shared_base_model([b.base_model for b in bots]) if mixed else None
        specs = {
            name: RuntimeSpec.from_settings(
                group,
                home=home,
                config=config,
                sandbox=served.get(group.platform.base_url) if name in on_sandbox else None,
                bots=[b.name for b in groups[name]] if mixed else None,
                model=model,
            )
            for name, group in on.items()
        }
        if not mixed:
            factory: RuntimeSpec | FleetSpec = next(iter(specs.values()))
        else:
            factory = FleetSpec(
                parts=tuple((spec, tuple(b.name for b in groups[n])) for n, spec in specs.items())
            )
        ex = make_executor(executor, factory, settings=settings.executors)
    except BaseException:
        for sandbox in served.values():
            sandbox.stop()
        raise
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        console.print(f"signal {signum}: stopping after the current step")
        stop.set()
        for rt in getattr(ex, "runtimes", ()):
            rt.interrupt.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def on_round(n: int, report: RoundReport) -> None:
        posted = sum(len(a.published) for a in report.act.values())
        new = sum(r.stored for r in report.ingest)
        console.print(f"round {n}: {new} new posts ingested, {posted} published")
        for a in report.act.values():
            if a.budget:
                console.print(f"  [yellow]{a.budget}[/]")
        for r in report.ingest:
            if r.error or r.rejected:
                what = f"poll failed ({r.error})" if r.error else f"skipped {r.rejected} bad posts"
                console.print(f"  [yellow]timeline {r.timeline}: {what}[/]", highlight=False)
        for c in report.compliance:
            if c.removed or c.held or c.error:
                what = c.error or c.held or f"removed {c.removed} posts gone from the platform"
                console.print(f"  [yellow]compliance {c.scope}: {what}[/]", highlight=False)
        for name, learned in report.learn.items():
            if learned.rl_waiting != waiting.get(name):  # say why RL waits, once per change
                waiting[name] = learned.rl_waiting
                if learned.rl_waiting:
                    console.print(
                        f"  [yellow]{name}: RL waits: {learned.rl_waiting}[/]", highlight=False
                    )
        sys.stdout.flush()  # progress is visible when piped to a log

    waiting: dict[str, str | None] = {}

    def on_outage(exc: Exception, wait: float, failures: int) -> None:
        console.print(f"[yellow]platform unavailable ({exc}); retrying in {wait:.0f} s[/]")
        sys.stdout.flush()

    try:
        stats = run_loop(
            ex,
            rounds=rounds,
            interval_s=interval,
            stop=stop,
            on_round=on_round,
            on_outage=on_outage,
        )
    finally:
        ex.close()
        for sandbox in served.values():
            sandbox.stop()
    if stats.stopped:
        console.print(stats.stopped)
    done = stats.rounds
    console.print(f"stopped after {done} rounds")


def bots_by_platform(settings: Settings, bots: list[Bot]) -> dict[str | None, list[Bot]]:
    """The bots grouped by the platform each is on (a `platforms:` name; None: `platform:`'s),
    `platform:`'s first, then by name. A stored bot on a platform vibeforge.yaml no longer
    defines, or declared there on another platform than it was created on, is a ConfigError."""
    declared = {b.name: b.platform for b in settings.bots}
    groups: dict[str | None, list[Bot]] = {}
    for bot in bots:
        settings.platform_named(bot.platform, what=f"bot {bot.name!r}")
        if bot.name in declared and declared[bot.name] != bot.platform:
            raise ConfigError(
                f"bots.{bot.name}.platform: vibeforge.yaml puts bot {bot.name!r} on "
                f"{_section(declared[bot.name])}, but it was created on "
                f"{_section(bot.platform)}; a "
                "bot keeps its platform (and account): restore the setting, or delete the bot "
                "and create it anew ('vibeforge bot delete', then 'vibeforge init')"
            )
        groups.setdefault(bot.platform, []).append(bot)
    return dict(sorted(groups.items(), key=lambda item: (item[0] is not None, item[0] or "")))


def _section(platform: str | None) -> str:
    return "platform:" if platform is None else f"platforms.{platform}"


def _start(home: Path, world: str, speed: float) -> RunningSandbox:
    from vibeforge.sandbox import start_sandbox

    return start_sandbox(home=home, world=world, speed=speed)


def connect_sandbox(settings: Settings) -> RemoteSandbox:
    """The sandbox at `platform.base_url`, through its admin API."""
    from vibeforge.sandbox.remote import RemoteSandbox

    token = settings.secrets.sandbox_admin_token
    if token is None or settings.platform.base_url is None:
        raise ConfigError(
            f"platform.base_url ({settings.platform.base_url}) names an external sandbox: set "
            "VIBEFORGE_SANDBOX_ADMIN_TOKEN (or sandbox_admin_token in the secrets file) to the "
            "admin token 'vibeforge sandbox info' prints where it is served"
        )
    return RemoteSandbox.connect(settings.platform.base_url, token.get_secret_value())


def _refuse_ignored(ctx: typer.Context, names: tuple[str, ...], *, why: str) -> None:
    """Options given on the command line that this run would ignore are an error."""

    given = [
        n
        for n in names
        if (source := ctx.get_parameter_source(n)) is not None and source.name == "COMMANDLINE"
    ]
    if given:
        flags = ", ".join(f"--{n}" for n in given)
        raise ConfigError(f"{flags} would be ignored: {why}; drop {flags}")


def _sandbox_accounts(
    sandbox: RunningSandbox | RemoteSandbox, bots: list[Bot], *, followers: int
) -> None:
    """Give every bot with an account handle a sandbox account in its timeline's niche (an
    account named by its Bluesky-face handle, `my-bot.test`, gets the username `my_bot`)."""
    from vibeforge.sandbox.atids import HANDLE_SUFFIX
    from vibeforge.sandbox.problems import SandboxError

    for bot in bots:
        if not bot.account:
            continue
        try:
            sandbox.user_token(bot.account)
        except SandboxError:
            niche = bot.timeline if bot.timeline in sandbox.list_ids() else None
            username = bot.account
            if username.lower().endswith(HANDLE_SUFFIX):
                username = username[: -len(HANDLE_SUFFIX)].replace("-", "_")
            sandbox.create_account(username, niche=niche, followers=followers)


def stop(ctx: typer.Context) -> None:
    """Kill switch: every running loop stops after its current step."""
    from vibeforge.loop.runtime import STOP_FLAG
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    with session_scope(open_engine(ctx)) as s:
        q.set_flag(s, name=STOP_FLAG, value={"by": "cli"})
    console.print("kill switch set: running loops stop after their current step")
