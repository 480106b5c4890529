"""`vibeforge db`: schema migrations and status."""

from __future__ import annotations

import typer

from vibeforge.cli.common import console, open_engine, print_json, state

app = typer.Typer(
    help="Database schema: upgrade and status; the pseudonym key it was made with.",
    no_args_is_help=True,
)


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


@app.command("accept-pseudonym-key")
def accept_pseudonym_key(
    ctx: typer.Context,
    yes: bool = typer.Option(False, "--yes", help="Do it without asking."),
) -> None:
    """Record the configured pseudonym key as this database's: authors ingested from now on get
    new pseudonyms that do not link to the ones already stored."""
    from vibeforge.loop.build import check_pseudonym_key, pseudonym_key, settings_key

    settings = state(ctx).settings()
    engine = open_engine(ctx)
    key = pseudonym_key(settings.home, settings_key(settings))
    if not yes:
        typer.confirm(
            "Authors already stored keep their old pseudonyms and will not match new ones. "
            "Record the current key?",
            abort=True,
        )
    fingerprint = check_pseudonym_key(engine, key, accept=True)
    console.print(f"pseudonym key {fingerprint} recorded for this database")
