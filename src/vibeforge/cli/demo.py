"""`vibeforge demo`: the longest end-to-end path that exists, on the embedded defaults."""

from __future__ import annotations

import typer

from vibeforge.cli.common import console, ensure_home, open_engine, state

NICHES = {
    "airlines": ("skybot", "a frequent flyer who is funny about delays and lost luggage"),
    "apple": ("fruitbot", "an Apple fan who reviews every keynote"),
    "selfdriving": ("autobot", "an engineer who follows self-driving cars closely"),
}


def demo(ctx: typer.Context) -> None:
    """Set up three niches with a bot each in $VIBEFORGE_HOME and show the ecosystem."""
    from rich.table import Table

    from vibeforge.domain import Bot, Timeline, TimelineKind
    from vibeforge.errors import NotFoundError
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope, upgrade

    settings = state(ctx).settings()
    ensure_home(settings.home)
    engine = open_engine(ctx, require=False)
    upgrade(engine)
    with session_scope(engine) as session:
        for niche, (bot, persona) in NICHES.items():
            try:
                q.get_timeline(session, name=niche)
            except NotFoundError:
                q.create_timeline(
                    session,
                    timeline=Timeline(name=niche, kind=TimelineKind.LIST, source=niche),
                )
            try:
                q.get_bot(session, name=bot)
            except NotFoundError:
                q.create_bot(session, bot=Bot(name=bot, timeline=niche, persona=persona))
        bots = q.list_bots(session)
    table = Table("bot", "timeline", "persona", title="vibeforge demo ecosystem")
    for b in bots:
        table.add_row(b.name, b.timeline or "-", b.persona)
    console.print(table)
    console.print(f"state kept in [bold]{settings.home.resolve()}[/]")
