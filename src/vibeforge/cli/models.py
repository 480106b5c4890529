"""`vibeforge models`: prepare the offline base models, list them and the bots' adapters."""

from __future__ import annotations

import typer
from rich.table import Table

from vibeforge.cli.common import console, console_err, ensure_home, print_json, state
from vibeforge.paths import Home

app = typer.Typer(help="Prepare and list base models and adapters.", no_args_is_help=True)


@app.command("prepare")
def prepare(
    ctx: typer.Context,
    name: str = typer.Argument(
        "smollm2-135m", help="A packaged model (smollm2-135m, gemma3-270m) or a .gguf file."
    ),
    force: bool = typer.Option(False, "--force", help="Export again even if already prepared."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Dequantise a GGUF model once into safetensors under $VIBEFORGE_HOME/models/."""
    from vibeforge.models.base import export_info
    from vibeforge.models.registry import prepare_model

    home = ensure_home(state(ctx).settings().home)
    with console_err.status(f"preparing {name}") as status:
        folder = prepare_model(name, home=home, force=force, progress=status.update)
    info = export_info(folder) or {}
    if json_out:
        print_json({"name": name, "path": str(folder), **info})
    else:
        console.print(
            f"prepared [bold]{name}[/] in {folder} (sha256 {info.get('sha256', '?')[:12]})"
        )


@app.command("list")
def list_(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """The known base models: installed, prepared, where."""
    from vibeforge.models.registry import model_rows

    rows = model_rows(home=state(ctx).settings().home)
    if json_out:
        print_json(rows)
        return
    table = Table("name", "role", "package", "installed", "prepared", "path")
    for r in rows:
        table.add_row(
            r["name"],
            r["role"],
            r["package"] or "-",
            "yes" if r["installed"] else "no",
            "yes" if r["prepared"] else "no",
            r["path"] or "-",
        )
    console.print(table)


@app.command("adapters")
def adapters(
    ctx: typer.Context,
    bot: str | None = typer.Argument(None, help="Show one bot's versions (default: all bots)."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """The versioned LoRA adapters under $VIBEFORGE_HOME/adapters, with their lineage."""
    from dataclasses import asdict

    from vibeforge.models.adapters import AdapterStore

    store = AdapterStore(Home(state(ctx).settings().home).adapters)
    bots = [bot] if bot else store.bots()
    versions = [v for b in bots for v in store.versions(b)]
    if json_out:
        print_json([asdict(v) for v in versions])
        return
    table = Table("bot", "version", "kind", "parent", "window end", "held-out loss", "created")
    for v in versions:
        before, after = v.metrics.get("heldout_loss_before"), v.metrics.get("heldout_loss_after")
        loss = f"{before:.3f} → {after:.3f}" if before is not None and after is not None else "-"
        table.add_row(
            v.bot,
            str(v.version),
            v.kind,
            str(v.parent or "-"),
            v.window_end.isoformat(timespec="minutes") if v.window_end else "-",
            loss,
            v.created_at.isoformat(timespec="seconds") if v.created_at else "-",
        )
    console.print(table)
