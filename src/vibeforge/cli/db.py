"""`vibeforge db`: schema migrations and status."""

from __future__ import annotations

import typer

from vibeforge.cli.common import console, open_engine, print_json, state

app = typer.Typer(help="Database schema: upgrade and status.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd(ctx: typer.Context, revision: str = typer.Argument("head")) -> None:
    """Apply migrations (a blank database gets the whole schema)."""
    from vibeforge.cli.common import ensure_home
    from vibeforge.store import current_revision, upgrade

    settings = state(ctx).settings()
    if settings.db_url.startswith("sqlite"):
        ensure_home(settings.home)
    engine = open_engine(ctx, require=False)
    upgrade(engine, revision=revision)
    console.print(f"database at revision [bold]{current_revision(engine)}[/]")


@app.command("status")
def status_cmd(ctx: typer.Context, json_out: bool = typer.Option(False, "--json")) -> None:
    """Show the database URL (password hidden) and its schema revision."""
    from vibeforge.config import redact_url
    from vibeforge.store import check_connection, current_revision

    engine = open_engine(ctx, require=False)
    check_connection(engine)
    info = {"url": redact_url(str(engine.url)), "revision": current_revision(engine)}
    if json_out:
        print_json(info)
    else:
        console.print(f"{info['url']} at revision {info['revision'] or '(blank: run db upgrade)'}")
