"""`vibeforge timeline`: the curated sources bots follow."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.table import Table

from vibeforge.cli.common import console, console_err, open_engine, print_json, state

app = typer.Typer(
    help="Add and list timelines (lists, Bluesky feeds, sets of handles, home timelines).",
    no_args_is_help=True,
)


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Unique timeline name."),
    list_id: str | None = typer.Option(
        None, "--list", help="An X List id, or on Bluesky a list's at:// URI."
    ),
    feed: str | None = typer.Option(
        None, "--feed", help="Bluesky: a custom feed's at://.../app.bsky.feed.generator/... URI."
    ),
    handles: str | None = typer.Option(None, "--handles", help="Comma-separated handles."),
    home: str | None = typer.Option(None, "--home", help="Handle whose home timeline to read."),
    poll_interval: int = typer.Option(900, "--poll-interval", min=1, help="Seconds between polls."),
    json_out: bool = typer.Option(False, "--json"),
    no_check: bool = typer.Option(False, "--no-check", help="Do not look the list or feed up."),
    platform: str | None = typer.Option(
        None, "--platform", help="A platform of vibeforge.yaml's platforms: (default: platform:)."
    ),
) -> None:
    """Add a timeline: exactly one of --list, --feed, --handles or --home. Names are the
    configured platform's: X handles and List ids, or Bluesky handles and at:// URIs."""
    from vibeforge.cli.platform_check import check_feed, check_list
    from vibeforge.config import (
        check_at_uri,
        check_bluesky_handle,
        check_handle,
        check_list_id,
        check_name,
    )
    from vibeforge.domain import Timeline, TimelineKind
    from vibeforge.errors import ConfigError
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    check_name(name, what="timeline")
    options = (("list", list_id), ("feed", feed), ("handles", handles), ("home", home))
    given = [(k, v) for k, v in options if v]
    if len(given) != 1:
        raise ConfigError(
            "give exactly one of --list ID, --feed AT-URI, --handles a,b,c or --home HANDLE"
        )
    kind, source = given[0]
    # the names of the platform it is read on
    settings = state(ctx).settings().on(platform, what="--platform")
    bluesky = settings.platform.speaks_bluesky
    handle = check_bluesky_handle if bluesky else check_handle
    if kind == "handles":
        parts = [h.strip() for h in source.split(",") if h.strip()]
        if not parts:
            raise ConfigError(f"--handles {source!r}: give handles like 'delta,united'")
        source = ",".join(handle(h, what="--handles") for h in parts)
    elif kind == "home":
        source = handle(source, what="--home")
    elif kind == "feed" and not bluesky:
        check_feed(settings, source)  # raises: X has no feeds
    elif bluesky:
        source = check_at_uri(source, kind="list" if kind == "list" else "feed")
    else:
        source = check_list_id(source)
    engine = open_engine(ctx)
    note = None
    if kind in ("list", "feed") and not no_check:
        note = (check_list if kind == "list" else check_feed)(settings, source)
    with session_scope(engine) as session:
        platform = settings.platform.registered_kind
        timeline = q.create_timeline(
            session,
            timeline=Timeline(
                name=name,
                kind=TimelineKind(kind),
                source=source,
                poll_interval_s=poll_interval,
                platform=platform,
            ),
        )
    if note:
        console_err.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    if json_out:
        print_json(asdict(timeline))
    else:
        console.print(f"added timeline [bold]{name}[/] ({kind}: {source})")


@app.command("list")
def list_cmd(ctx: typer.Context, json_out: bool = typer.Option(False, "--json")) -> None:
    """List timelines with their post counts and polling cursor."""
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    with session_scope(open_engine(ctx)) as session:
        timelines = q.list_timelines(session)
        counts = {t.name: q.count_posts(session, timeline=t.name) for t in timelines}
    if json_out:
        print_json([asdict(t) | {"posts": counts[t.name]} for t in timelines])
        return
    if not timelines:
        console.print("no timelines yet: vibeforge timeline add NAME --handles a,b")
        return
    table = Table("name", "kind", "source", "posts", "poll every", "last polled")
    for t in timelines:
        polled = t.last_polled_at.isoformat(timespec="seconds") if t.last_polled_at else "never"
        table.add_row(
            t.name, t.kind.value, t.source, str(counts[t.name]), f"{t.poll_interval_s}s", polled
        )
    console.print(table)
