"""`vibeforge provenance POST_ID`: where a published post came from."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.table import Table

from vibeforge.cli.common import console, open_engine, print_json
from vibeforge.errors import NotFoundError


class UnknownPost(NotFoundError):
    """No provenance for that post id: one line, exit code 1."""

    exit_code = 1


def provenance(
    ctx: typer.Context,
    post_id: str = typer.Argument(..., help="The platform's post id."),
    platform: str | None = typer.Option(
        None, "--platform", help="Only this platform's post (x, bluesky) when ids could clash."
    ),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Show a published post's provenance: bot, adapter and its sha256, base model, elder
    lineage, prompt version, time, platform and the platform's AI flag."""
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    with session_scope(open_engine(ctx)) as session:
        try:
            record = q.get_provenance(session, post_id=post_id, platform=platform)
        except NotFoundError as exc:
            raise UnknownPost(str(exc)) from None
    data = asdict(record)
    if json_out:
        print_json(data)
        return
    table = Table("field", "value", title=f"provenance of post {record.post_id}")
    adapter = (
        "none (the base model wrote it)"
        if record.adapter_version is None
        else f"v{record.adapter_version}"
    )
    lineage = record.lineage or {}
    elder = (
        f"{lineage.get('elder')} v{lineage['elder_version']}"
        if "elder_version" in lineage
        else str(lineage.get("elder") or "none")
    )
    rows = [
        ("platform", record.platform),
        ("post id", record.post_id),
        ("published", record.published_at.isoformat()),
        ("bot", record.bot),
        ("adapter", adapter),
        ("adapter sha256", record.adapter_sha256 or "-"),
        ("base model", record.base_model),
        ("elder lineage", elder),
        ("prompt version", record.prompt_version),
        ("AI flag", f"yes ({record.ai_label})" if record.ai_flag else "no"),
        ("outbox key", record.publication_key),
    ]
    if record.removed_at is not None:
        rows.append(("removed from platform", record.removed_at.isoformat()))
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
