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
    platform: str | None = typer.Option(
        None,
        "--platform",
        help="The starter config's platform: sandbox (default), sandbox-bluesky (the sandbox "
        "through its Bluesky face), bluesky or x.",
    ),
) -> None:
    """Create the home folder, a starter vibeforge.yaml and an up-to-date database."""
    from vibeforge.cli.sync import sync_specs
    from vibeforge.config import CONFIG_FILE
    from vibeforge.config.starter import KINDS, NEXT_STEP, starter_yaml
    from vibeforge.errors import ConfigError
    from vibeforge.store import session_scope, upgrade

    st = state(ctx)
    config_path = st.config_path or Path(CONFIG_FILE)
    chosen = platform or "sandbox"
    text = starter_yaml(chosen)  # an unknown platform fails before anything is written
    if platform is not None and not write_config:
        raise ConfigError("--platform picks the starter config: drop --no-write-config")
    wrote = write_config and not config_path.exists()
    if wrote:
        config_path.write_text(text, encoding="utf-8")
        console.print(f"wrote starter config [bold]{config_path}[/] (platform {chosen})")
    settings = st.settings()
    if platform is not None and settings.platform.registered_kind != KINDS[chosen]:
        raise ConfigError(
            f"{config_path} exists and its platform is {settings.platform.registered_kind}, "
            f"not {KINDS[chosen]}: edit its 'platform:' section, or move it away and rerun"
        )
    home = ensure_home(settings.home)
    engine = open_engine(ctx, require=False)
    upgrade(engine)
    with session_scope(engine) as session:
        created = sync_specs(session, settings=settings)
    console.print(f"home [bold]{home.resolve()}[/], database ready")
    for line in created:
        console.print(f"  created {line}")
    if wrote:
        console.print(f"next: {NEXT_STEP[chosen]}", highlight=False, soft_wrap=True)
