"""`vibeforge run` and `vibeforge stop`: the continuous loop and its kill switch."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from vibeforge.cli.common import console, ensure_home, open_engine, state

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

    from vibeforge.errors import ConfigError
    from vibeforge.loop.build import RuntimeSpec
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
    sandbox: RunningSandbox | RemoteSandbox | None = None
    if settings.platform.kind != "sandbox":
        _refuse_ignored(ctx, ("world", "speed", "followers"), why="platform.kind is not sandbox")
    elif settings.platform.base_url:  # served by another process: its own world and clock
        _refuse_ignored(ctx, ("world", "speed"), why="an external sandbox keeps its own world")
        sandbox = connect_sandbox(settings)
        _sandbox_accounts(sandbox, bots, followers=followers)
    else:  # served by this process
        from vibeforge.sandbox import start_sandbox

        sandbox = start_sandbox(home=home, world=world, speed=speed)
        _sandbox_accounts(sandbox, bots, followers=followers)
    spec = RuntimeSpec.from_settings(settings, home=home, config=config, sandbox=sandbox)
    ex = make_executor(executor, spec, settings=settings.executors)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        console.print(f"signal {signum}: stopping after the current step")
        stop.set()
        if hasattr(ex, "runtime"):
            ex.runtime.interrupt.set()

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
        if sandbox is not None:
            sandbox.stop()
    if stats.stopped:
        console.print(stats.stopped)
    done = stats.rounds
    console.print(f"stopped after {done} rounds")


def connect_sandbox(settings: Settings) -> RemoteSandbox:
    """The sandbox at `platform.base_url`, through its admin API."""
    from vibeforge.errors import ConfigError
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
    from vibeforge.errors import ConfigError

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
