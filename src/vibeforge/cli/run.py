"""`vibeforge run` and `vibeforge stop`: the continuous loop and its kill switch."""

from __future__ import annotations

from typing import Any

import typer

from vibeforge.cli.common import console, ensure_home, open_engine, state


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
    from vibeforge.loop.build import SandboxRuntimeSpec, XRuntimeSpec, shared_base_model
    from vibeforge.loop.config import LoopConfig
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
    try:
        config = LoopConfig(**settings.loop)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"loop settings in vibeforge.yaml: {exc}") from None
    config = replace(
        config, dry_run=dry_run or config.dry_run, approval=approval or config.approval
    )
    sandbox = None
    if settings.platform.kind == "sandbox":
        from vibeforge.sandbox import start_sandbox

        sandbox = start_sandbox(home=home, world=world, speed=speed)
        _sandbox_accounts(sandbox, bots, followers=followers)
        spec: SandboxRuntimeSpec | XRuntimeSpec = SandboxRuntimeSpec.for_sandbox(
            sandbox, db_url=settings.db_url, home=home, config=config
        )
    else:
        bearer = settings.secrets.x_bearer_token
        if bearer is None:
            raise ConfigError("platform x needs VIBEFORGE_X_BEARER_TOKEN (an app bearer token)")
        cid, csec = settings.secrets.x_client_id, settings.secrets.x_client_secret
        spec = XRuntimeSpec(
            db_url=settings.db_url,
            home=home,
            base_url=settings.platform.base_url or "https://api.x.com",
            bearer=bearer.get_secret_value(),
            client_id=cid.get_secret_value() if cid else None,
            client_secret=csec.get_secret_value() if csec else None,
            config=config,
            model=shared_base_model([b.base_model for b in bots]),
        )
    ex = make_executor(executor, spec, **({"num_cpus": None} if executor == "ray" else {}))
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
        sys.stdout.flush()  # progress is visible when piped to a log

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


def _sandbox_accounts(sandbox: Any, bots: list[Any], *, followers: int) -> None:
    """Give every bot with an account handle a sandbox account in its timeline's niche."""
    from vibeforge.sandbox.problems import SandboxError

    for bot in bots:
        if not bot.account:
            continue
        try:
            sandbox.user_token(bot.account)
        except SandboxError:
            niche = bot.timeline if bot.timeline in sandbox.list_ids() else None
            sandbox.create_account(bot.account, niche=niche, followers=followers)


def stop(ctx: typer.Context) -> None:
    """Kill switch: every running loop stops after its current step."""
    from vibeforge.loop.runtime import STOP_FLAG
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    with session_scope(open_engine(ctx)) as s:
        q.set_flag(s, name=STOP_FLAG, value={"by": "cli"})
    console.print("kill switch set: running loops stop after their current step")
