"""`vibeforge init`: create the home folder, a starter vibeforge.yaml and the database."""

from __future__ import annotations

from pathlib import Path

import typer

from vibeforge.cli.common import console, ensure_home, open_engine, state


def init(
    ctx: typer.Context,
    write_config: bool = typer.Option(
        True, "--write-config/--no-write-config", help="Write a starter vibeforge.yaml if missing."
    ),
) -> None:
    """Create the home folder, a starter vibeforge.yaml and an up-to-date database."""
    from vibeforge.cli.sync import sync_specs
    from vibeforge.config import CONFIG_FILE, DEFAULT_YAML
    from vibeforge.store import session_scope, upgrade

    st = state(ctx)
    config_path = st.config_path or Path(CONFIG_FILE)
    if write_config and not config_path.exists():
        config_path.write_text(DEFAULT_YAML, encoding="utf-8")
        console.print(f"wrote starter config [bold]{config_path}[/]")
    settings = st.settings()
    home = ensure_home(settings.home)
    engine = open_engine(ctx, require=False)
    upgrade(engine)
    with session_scope(engine) as session:
        created = sync_specs(session, settings=settings)
    console.print(f"home [bold]{home.resolve()}[/], database ready")
    for line in created:
        console.print(f"  created {line}")
