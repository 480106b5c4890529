"""`vibeforge demo`: three bots on the embedded sandbox for a few simulated days, on its X face
or its Bluesky face."""

from __future__ import annotations

import typer

from vibeforge.cli.common import console, ensure_home, state
from vibeforge.paths import Home


def demo(
    ctx: typer.Context,
    quick: bool = typer.Option(False, "--quick", help="One simulated day (a few minutes)."),
    days: float | None = typer.Option(None, "--days", min=0.1, help="Simulated days to run."),
    model: str = typer.Option("smollm2-135m", "--model", help="Base model of the bots."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sandbox world."),
    platform: str = typer.Option(
        "x",
        "--platform",
        help="The sandbox face the bots use: x (X API v2) or bluesky (AT Protocol XRPC).",
    ),
) -> None:
    """Run three bots on the embedded sandbox and report their engagement before and after."""
    from dataclasses import replace

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from vibeforge.errors import ConfigError
    from vibeforge.harness.demo import QUICK, UNITS, DemoConfig, run_demo
    from vibeforge.harness.report import PLATFORMS, write_report

    if platform not in UNITS:
        raise ConfigError(f"--platform {platform!r}: use x or bluesky")
    settings = state(ctx).settings()
    home = ensure_home(settings.home)
    config = QUICK if quick else DemoConfig()
    config = replace(config, model=model, seed=seed, platform=platform)
    if days:
        config = replace(config, days=days)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} rounds"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("starting", total=config.rounds)

        def progress(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total, description=what)

        result = run_demo(home, config=config, progress=progress)
    result.report = write_report(result, directory=Home(home).reports)
    table = Table(
        "bot",
        "niche",
        "baseline",
        "after learning",
        "niche humans",
        title=f"{result.unit} (posts)",
    )

    def cell(rate: float | None, n: int) -> str:
        return "–" if rate is None else f"{rate:.2f} ({n})"

    for s in result.summaries:
        table.add_row(
            s.bot,
            s.niche,
            cell(s.baseline_rate, s.baseline_posts),
            cell(s.learning_rate, s.learning_posts),
            cell(s.human_rate, s.human_posts),
        )
    console.print(table)
    for s in result.summaries:
        if s.rl_waited:
            console.print(
                f"[yellow]{s.bot}[/]: RL ran in {s.rl_rounds} rounds; it waited because "
                + "; ".join(s.rl_waited),
                highlight=False,
                soft_wrap=True,
            )
    console.print(
        f"{result.rounds} rounds in {result.seconds / 60:.1f} min, "
        f"{PLATFORMS[result.platform].removeprefix('on ')}",
        highlight=False,
    )
    console.print(f"report: [bold]{result.report}[/]")
    console.print(
        f"dashboard: [bold]VIBEFORGE_HOME={result.home} .venv/bin/vibeforge dashboard[/]"
        " → http://127.0.0.1:8765/",
        highlight=False,
        soft_wrap=True,
    )
