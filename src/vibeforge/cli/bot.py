"""`vibeforge bot`: create, inspect, pause, resume and delete bots."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from vibeforge.cli.common import console, console_err, open_engine, print_json, state

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from vibeforge.config import PlatformSettings

app = typer.Typer(help="Create and manage bots.", no_args_is_help=True)


def _as_dict(bot: Any) -> dict[str, Any]:
    data = asdict(bot)
    data["status"] = bot.status.value
    return data


@app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Unique bot name (lowercase, digits, - or _)."),
    timeline: str | None = typer.Option(None, "--timeline", "-t", help="Timeline it follows."),
    account: str | None = typer.Option(
        None, "--account", help="Its handle on the platform (Bluesky: a domain, mybot.bsky.social)."
    ),
    persona: str = typer.Option("", "--persona", help="One line used in its prompts."),
    base_model: str = typer.Option(
        "smollm2-135m", "--base-model", help="Base model name or HF id."
    ),
    posts_per_day: float = typer.Option(4.0, "--posts-per-day", min=0.01, max=1000),
    json_out: bool = typer.Option(False, "--json", help="Print the created bot as JSON."),
    no_check: bool = typer.Option(
        False, "--no-check", help="Do not look the account up on the platform."
    ),
    platform: str | None = typer.Option(
        None, "--platform", help="A platform of vibeforge.yaml's platforms: (default: platform:)."
    ),
) -> None:
    """Create a bot that follows a timeline."""
    from vibeforge.cli.platform_check import check_account
    from vibeforge.config import check_bluesky_handle, check_handle, check_name
    from vibeforge.domain import Bot
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    check_name(name, what="bot")
    # its platform's names, URL and secrets
    settings = state(ctx).settings().on(platform, what="--platform")
    if account is not None:  # the platform's spelling: an X handle, or a Bluesky domain
        check = check_bluesky_handle if settings.platform.speaks_bluesky else check_handle
        account = check(account)
    engine = open_engine(ctx)
    note = None
    if account is not None and not no_check:
        note = check_account(settings, account)
    with session_scope(engine) as session:
        if platform is not None and timeline is not None:
            _check_timeline_platform(session, timeline, platform, settings.platform)
        bot = q.create_bot(
            session,
            bot=Bot(
                name=name,
                timeline=timeline,
                account=account,
                persona=persona,
                base_model=base_model,
                posts_per_day=posts_per_day,
                platform=platform,
            ),
        )
    if note:
        console_err.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    if json_out:
        print_json(_as_dict(bot))
    else:
        console.print(f"created bot [bold]{bot.name}[/]")


def _check_timeline_platform(
    session: Session, timeline: str, name: str, platform: PlatformSettings
) -> None:
    """A bot reads its timeline through its own platform: they must be of one kind."""
    from vibeforge.errors import ConfigError
    from vibeforge.store import queries as q

    kind = q.get_timeline(session, name=timeline).platform
    if kind != platform.registered_kind:
        raise ConfigError(
            f"timeline {timeline!r} is read on {kind}, but platform {name!r} is "
            f"{platform.registered_kind}: add a timeline on it with "
            f"'vibeforge timeline add NAME --platform {name} ...'"
        )


@app.command("list")
def list_cmd(ctx: typer.Context, json_out: bool = typer.Option(False, "--json")) -> None:
    """List bots."""
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    with session_scope(open_engine(ctx)) as session:
        bots = q.list_bots(session)
    if json_out:
        print_json([_as_dict(b) for b in bots])
        return
    if not bots:
        console.print("no bots yet: vibeforge bot create NAME --timeline T")
        return
    table = Table("name", "status", "timeline", "account", "base model", "posts/day")
    for b in bots:
        status = "[green]active[/]" if b.status.value == "active" else "[yellow]paused[/]"
        table.add_row(
            b.name,
            status,
            b.timeline or "-",
            b.account or "-",
            b.base_model,
            f"{b.posts_per_day:g}",
        )
    console.print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    name: str,
    json_out: bool = typer.Option(False, "--json"),
    plot: Path | None = typer.Option(
        None, "--plot", help="Also write the learning curve as a PNG."
    ),
    smooth: int = typer.Option(5, "--smooth", min=1, help="Posts in the moving mean."),
    width: int = typer.Option(60, "--width", min=10, max=400, help="Columns of the chart."),
) -> None:
    """Show one bot: publication counts, adapter versions, and its learning curve (the
    realised reward of each published post, with a moving mean and the adapter versions)."""
    from vibeforge.analytics.learning_curve import learning_curve
    from vibeforge.cli.common import reward_age_weights
    from vibeforge.cli.plot import curve_lines
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    weights = reward_age_weights(state(ctx).settings())
    with session_scope(open_engine(ctx)) as session:
        bot = q.get_bot(session, name=name)
        stats = q.bot_stats(session, name=name)
        versions = q.list_adapter_versions(session, bot=name)
        curve = learning_curve(session, bot=name, age_weights=weights, smooth=smooth)
    data = _as_dict(bot) | stats | {"versions": [v.version for v in versions]}
    written = None
    if plot is not None:
        from vibeforge.cli.plot import write_png

        written = write_png(curve, plot)
    if json_out:
        print_json(data | {"learning_curve": asdict(curve)})
        return
    table = Table(show_header=False, box=None)
    for key, value in data.items():
        table.add_row(f"[bold]{key}[/]", str(value))
    console.print(table)
    console.print()
    for line in curve_lines(curve, width=width):
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    if written is not None:
        console.print(f"plot written to {written}", highlight=False)


def _set_status(ctx: typer.Context, name: str, status_value: str) -> None:
    from vibeforge.domain import BotStatus
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    with session_scope(open_engine(ctx)) as session:
        bot = q.set_bot_status(session, name=name, status=BotStatus(status_value))
    console.print(f"bot [bold]{bot.name}[/] is {bot.status.value}")


@app.command("pause")
def pause(ctx: typer.Context, name: str) -> None:
    """Stop a bot from learning and posting until resumed."""
    _set_status(ctx, name, "paused")


@app.command("resume")
def resume(ctx: typer.Context, name: str) -> None:
    """Let a paused bot learn and post again."""
    _set_status(ctx, name, "active")


@app.command("delete")
def delete(
    ctx: typer.Context,
    name: str,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a bot and its candidates, outbox, rewards and adapter records."""
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    engine = open_engine(ctx)
    with session_scope(engine) as session:
        q.get_bot(session, name=name)
    if not yes:
        typer.confirm(f"delete bot {name!r} and its history?", abort=True)
    with session_scope(engine) as session:
        q.delete_bot(session, name=name)
    console.print(f"deleted bot [bold]{name}[/]")


# `vibeforge bot spawn` lives with distillation (it needs an elder)
from vibeforge.cli.distill import spawn as _spawn  # noqa: E402

app.command("spawn")(_spawn)
