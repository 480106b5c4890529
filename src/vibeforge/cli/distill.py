"""`vibeforge distill`: plan subsets, train elders, watch drift; and `vibeforge bot spawn`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from vibeforge.cli.common import console, ensure_home, open_engine, print_json, state

if TYPE_CHECKING:
    from vibeforge.distill.config import DistillConfig
    from vibeforge.embedding import Embedder

app = typer.Typer(
    help="Distil bots into larger elders, retrain them on drift, spawn bots from them.",
    no_args_is_help=True,
)


def _config(ctx: typer.Context, **overrides: Any) -> DistillConfig:
    return state(ctx).settings().distill.with_overrides(**overrides)


def _embedder(config: DistillConfig) -> Embedder:
    """The embedder distill compares outputs with, by the name its settings give."""
    from vibeforge.sandbox.embed import make_embedder

    return make_embedder(config.embedder)


@contextmanager
def _progress(start: str) -> Iterator[Callable[[str, int, int], None]]:
    """A transient progress bar, as the (what, done, total) callback distill's steps report to."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(start, total=None)

        def progress(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        yield progress


@app.command("plan")
def plan(
    ctx: typer.Context,
    k: int | None = typer.Option(None, "--k", min=1, help="Number of subsets (else threshold)."),
    threshold: float | None = typer.Option(
        None, "--threshold", help="Cosine distance below which bots share a subset."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
) -> None:
    """Show how the bots would be grouped into subsets, one elder each, and why."""
    from vibeforge.distill.cluster import make_plan

    config = _config(ctx, k=k, distance_threshold=threshold)
    result = make_plan(open_engine(ctx), embedder=_embedder(config), config=config)
    if json_out:
        print_json(result.as_json())
        return
    console.print(f"clustering: {result.method}")
    table = Table("subset", "bots", "niches", "spread", "elder", "why")
    for s in result.subsets:
        table.add_row(
            s.name,
            ", ".join(s.bots),
            ", ".join(s.niches),
            f"{s.spread:.3f}",
            s.elder or "(new)",
            "\n".join(s.reasons),
        )
    console.print(table)
    for bot, why in result.left_out.items():
        console.print(f"[yellow]left out[/] {bot}: {why}")


def _sample(ctx: typer.Context, engine: Any, per_bot: int, home: Any) -> dict[str, int]:
    """Top every active bot that has an adapter up with `per_bot` fresh, guarded outputs."""
    from vibeforge.distill.dataset import reward_model_predictor
    from vibeforge.distill.outputs import sample_outputs
    from vibeforge.domain import BotStatus
    from vibeforge.learn.prompt import bot_prompt
    from vibeforge.loop.build import make_bank, shared_base_model
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    with session_scope(engine) as s:
        bots = q.list_bots(s, status=BotStatus.ACTIVE)
    bank = make_bank(model=shared_base_model([b.base_model for b in bots]), home=home)
    ready = [b for b in bots if bank.store.version_numbers(b.name)]
    with console.status(f"sampling {per_bot} outputs from each of {len(ready)} bots"):
        return sample_outputs(
            engine=engine,
            bank=bank,
            bots=ready,
            per_bot=per_bot,
            predict=reward_model_predictor(home),
            prompt_for=lambda b: bot_prompt(bank.base.tokenizer, persona=b.persona),
        )


@app.command("run")
def run(
    ctx: typer.Context,
    subset: list[str] = typer.Option([], "--subset", help="Train only these subsets (repeat)."),
    force: bool = typer.Option(False, "--force", help="Train every subset, due or not."),
    sample: int = typer.Option(
        0, "--sample", min=0, help="First sample N fresh outputs from every bot's adapter."
    ),
    elder_base: str | None = typer.Option(None, "--elder-base", help="Elder base model."),
    method: str | None = typer.Option(None, "--method", help="lora or full."),
    max_steps: int | None = typer.Option(None, "--max-steps", min=1, help="Cap on steps."),
    json_out: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """Build each subset's composite dataset and train its elder (new, due, or named ones)."""
    from vibeforge.distill.pipeline import run_distill

    config = _config(ctx, elder_base=elder_base, method=method, max_steps=max_steps)
    home = ensure_home(state(ctx).settings().home)
    engine = open_engine(ctx)
    if sample:
        _sample(ctx, engine, sample, home)
    with _progress("planning") as progress:
        outcomes = run_distill(
            engine,
            home=home,
            config=config,
            embedder=_embedder(config),
            subsets=subset,
            force=force,
            progress=progress,
        )
    if json_out:
        print_json([o.as_json() for o in outcomes])
        return
    table = Table("subset", "bots", "elder", "examples", "loss", "note")
    for o in outcomes:
        row = o.as_json()
        loss = f"{row['loss_before']:.3f} → {row['loss_after']:.3f}" if row["loss_after"] else "-"
        table.add_row(
            o.subset,
            ", ".join(o.bots),
            f"v{row['elder_version']}" if row["elder_version"] else "-",
            str(row["examples"]),
            loss,
            o.skipped or _trained_note(row["off_niche"]),
        )
    console.print(table)


def _trained_note(off_niche: dict[str, int]) -> str:
    if not off_niche:
        return "trained"
    return f"trained; {sum(off_niche.values())} off-niche outputs left out"


@app.command("status")
def status(
    ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print as JSON.")
) -> None:
    """Each elder's version, its subset's drift since training, and whether it is due."""
    from vibeforge.distill.drift import drift_status
    from vibeforge.distill.pipeline import elder_records

    config = _config(ctx)
    home = state(ctx).settings().home
    engine = open_engine(ctx)
    embedder = _embedder(config)
    rows = [
        drift_status(engine, record=r, embedder=embedder, config=config)
        for r in elder_records(engine, home=home)
    ]
    if json_out:
        print_json([r.as_json() for r in rows])
        return
    if not rows:
        console.print("no elders yet: vibeforge distill plan, then vibeforge distill run")
        return
    table = Table("elder", "version", "bots", "age (days)", "centroid shift", "token JS", "due")

    def fmt(v: float | None, limit: float) -> str:
        return "-" if v is None else (f"[red]{v:.3f}[/]" if v > limit else f"{v:.3f}")

    for r in rows:
        table.add_row(
            r.elder,
            f"v{r.version}",
            ", ".join(r.bots),
            f"{r.age_days:.1f}",
            fmt(r.centroid_shift, config.drift_centroid),
            fmt(r.token_divergence, config.drift_tokens),
            "[bold red]due[/]: " + "; ".join(r.reasons) if r.due else "no",
        )
    console.print(table)


def spawn(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The new bot's name."),
    timeline: str = typer.Option(..., "--timeline", "-t", help="The timeline it will follow."),
    from_: str = typer.Option("auto", "--from", help="Elder to start from, or auto (nearest)."),
    persona: str | None = typer.Option(None, "--persona", help="One line used in its prompts."),
    account: str | None = typer.Option(None, "--account", help="Its handle (default: NAME)."),
    base_model: str = typer.Option("smollm2-135m", "--base-model", help="The bot's base model."),
    warm: int = typer.Option(48, "--warm", min=4, help="Warm-start posts the elder writes."),
    platform: str | None = typer.Option(
        None, "--platform", help="A platform of vibeforge.yaml's platforms: (default: platform:)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Create a bot warm-started from the nearest elder, then hand it to the loop."""
    from vibeforge.config import check_bluesky_handle, check_handle
    from vibeforge.distill.spawn import SpawnConfig, spawn_bot
    from vibeforge.loop.build import make_bank

    config = _config(ctx)
    settings = state(ctx).settings().on(platform, what="--platform")  # an unknown name fails
    handle = name  # the default, as before: the bot's own name
    if account is not None:  # the platform's spelling, checked before any model work
        check = check_bluesky_handle if settings.platform.speaks_bluesky else check_handle
        handle = check(account)
    home = ensure_home(settings.home)
    engine = open_engine(ctx)
    bank = make_bank(model=base_model, home=home)
    with _progress("starting") as progress:
        result = spawn_bot(
            engine,
            home=home,
            name=name,
            timeline=timeline,
            bank=bank,
            embedder=_embedder(config),
            elder=from_,
            persona=persona,
            account=handle,
            platform=platform,
            base_model=base_model,
            config=SpawnConfig(warm_examples=warm, seed=config.seed),
            progress=progress,
        )
    data = {
        "bot": result.bot.name,
        "timeline": timeline,
        "elder": result.choice.elder.name,
        "elder_version": result.choice.elder.version,
        "niches": list(result.choice.niches),
        "distance": round(result.choice.distance, 4),
        "warm_generated": result.generated,
        "warm_kept": result.kept,
        "adapter_version": result.adapter.version,
        "warm_start": str(result.warm_start),
    }
    if json_out:
        print_json(data)
        return
    console.print(
        f"spawned [bold]{name}[/] from elder [bold]{data['elder']}[/] v{data['elder_version']} "
        f"(niches {', '.join(result.choice.niches)}, distance {data['distance']:.3f}); "
        f"{result.kept}/{result.generated} warm-start posts → adapter v{result.adapter.version}. "
        "The loop takes it from here: vibeforge run"
    )
