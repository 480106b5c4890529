"""`vibeforge approvals`: the queue of posts waiting for a person (when approval is on)."""

from __future__ import annotations

import typer
from rich.table import Table

from vibeforge.cli.common import console, open_engine, print_json

app = typer.Typer(help="Review posts waiting for approval.", no_args_is_help=True)


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    bot: str | None = typer.Option(None, "--bot", help="Only this bot's queue."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """List queued candidates with their predicted reward and guard verdicts."""
    from vibeforge.store import approvals, session_scope

    with session_scope(open_engine(ctx)) as session:
        items = approvals.queued(session, bot=bot)
    if json_out:
        print_json(
            [
                {
                    "id": c.id,
                    "bot": c.bot,
                    "text": c.text,
                    "predicted_reward": c.predicted_reward,
                    "guard": c.guard,
                    "created_at": c.created_at,
                }
                for c in items
            ]
        )
        return
    if not items:
        console.print("the approval queue is empty")
        return
    table = Table("id", "bot", "predicted", "text")
    for c in items:
        predicted = "-" if c.predicted_reward is None else f"{c.predicted_reward:.3f}"
        table.add_row(str(c.id), c.bot, predicted, c.text)
    console.print(table)


@app.command("approve")
def approve(ctx: typer.Context, candidate_ids: list[int]) -> None:
    """Approve candidates: they go to the outbox and are published on the next act step."""
    from vibeforge.store import approvals, session_scope

    with session_scope(open_engine(ctx)) as session:
        for cid in candidate_ids:
            pub = approvals.approve(session, candidate_id=cid)
            console.print(f"approved {cid} → outbox {pub.idempotency_key}")


@app.command("reject")
def reject(ctx: typer.Context, candidate_ids: list[int]) -> None:
    """Reject candidates: they are never published."""
    from vibeforge.store import approvals, session_scope

    with session_scope(open_engine(ctx)) as session:
        for cid in candidate_ids:
            approvals.reject(session, candidate_id=cid)
            console.print(f"rejected {cid}")
