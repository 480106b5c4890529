"""`vibeforge adapters`: the bots' versioned LoRA adapters on disk, and their retention."""

from __future__ import annotations

import typer
from rich.table import Table

from vibeforge.cli.common import console, open_engine, print_json, state
from vibeforge.paths import Home

app = typer.Typer(help="Manage the bots' versioned LoRA adapters.", no_args_is_help=True)


@app.command("prune")
def prune(
    ctx: typer.Context,
    bot: str | None = typer.Option(None, "--bot", help="Only this bot (default: every bot)."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what would be removed; delete nothing."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Delete old adapter versions under $VIBEFORGE_HOME/adapters.

    Kept: the newest, the last `retention.adapters.keep_last`, every version a publication,
    the approval queue or an elder's dataset names, and the newest of each UTC day for the
    last `retention.adapters.keep_daily_days` days. Broken versions the bank skips go too.
    """
    from vibeforge.config import check_name
    from vibeforge.errors import NotFoundError
    from vibeforge.loop.retention import prune_adapters
    from vibeforge.models.adapters import AdapterStore

    settings = state(ctx).settings()
    store = AdapterStore(Home(settings.home).adapters)
    if bot is not None and not store.version_numbers(check_name(bot, what="bot")):
        raise NotFoundError(f"bot {bot!r} has no adapter versions under {store.root}")
    engine = open_engine(ctx)  # the references live in the store: no store, no pruning
    reports = prune_adapters(
        store,
        engine=engine,
        home=settings.home,
        policy=settings.retention.adapters,
        bots=[bot] if bot is not None else None,
        dry_run=dry_run,
    )
    freed = sum(r.bytes_freed for r in reports)
    if json_out:
        print_json(
            {"dry_run": dry_run, "bytes_freed": freed, "bots": [r.as_json() for r in reports]}
        )
        return
    if not reports:
        console.print(f"no adapters under {store.root}")
        return
    gone = "would remove" if dry_run else "removed"
    table = Table("bot", "version", "action", "size", "why")
    for r in reports:
        for v in sorted((*r.kept, *r.removed), key=lambda v: v.version):
            action = "kept" if v.keep else gone
            table.add_row(r.bot, str(v.version), action, _size(v.size_bytes), ", ".join(v.reasons))
        for name in r.leftovers:
            table.add_row(r.bot, name, gone, "-", "left by an interrupted write or delete")
    console.print(table)
    versions = sum(len(r.removed) for r in reports)
    leftovers = sum(len(r.leftovers) for r in reports)
    what = f"{versions} version{'' if versions == 1 else 's'}"
    if leftovers:
        what += f" and {leftovers} leftover folder{'' if leftovers == 1 else 's'}"
    if dry_run:
        console.print(f"dry run: would remove {what} and free {_size(freed)}; nothing was deleted")
    else:
        console.print(f"removed {what}, freed {_size(freed)}")


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
