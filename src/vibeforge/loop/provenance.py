"""Provenance of a published post: what wrote it, under which prompt, marked how.

Recorded by the outbox in the transaction that confirms the post (`loop.outbox`), so a post on
the platform and its provenance are committed together or not at all:

    bot              the bot that published it
    adapter          the candidate's adapter version and the sha256 of its weights file as
                     stored (`adapter_versions`); none when the base model wrote it
    base model       the base the adapter was saved on (its vibeforge.json), else the bot's
    elder lineage    for a bot spawned from an elder: the lineage its spawn version recorded
                     (elder, elder version, niches, ...), found along the adapter's parents
    prompt version   `learn.prompt.PROMPT_VERSION`, the template act builds every prompt from
    time, platform   the platform's creation time and name
    AI flag          the platform's own marking (`made_with_ai` on X and the sandbox, the `bot`
                     self-label on Bluesky), as the client reports it (`ai_marking`)

`vibeforge provenance POST_ID` reads it back; docs/provenance.md says why (EU AI Act art. 50).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from vibeforge.domain import AdapterVersion, Bot, PostRef, Provenance, Publication
from vibeforge.errors import NotFoundError
from vibeforge.learn.prompt import PROMPT_VERSION
from vibeforge.platforms.base import Platform
from vibeforge.store import queries as q

log = logging.getLogger(__name__)
ADAPTER_META = "vibeforge.json"  # models.adapters.META: the version's record, with its base


def ai_marking(platform: Platform) -> str | None:
    """The AI marking the platform client puts on every post it publishes, if any."""
    marking = getattr(platform, "ai_marking", None)
    return marking if isinstance(marking, str) and marking else None


def provenance_for(
    session: Session,
    *,
    bot: Bot,
    pub: Publication,
    ref: PostRef,
    platform: Platform,
    published_at: datetime,
) -> Provenance:
    """The provenance of `pub`, confirmed on `platform` as `ref` (read inside the confirming
    transaction)."""
    adapter: AdapterVersion | None = None
    versions: dict[int, AdapterVersion] = {}
    if pub.candidate_id is not None:
        try:
            candidate = q.get_candidate(session, candidate_id=pub.candidate_id)
        except NotFoundError:
            candidate = None
        if candidate is not None and candidate.adapter_version is not None:
            versions = {v.version: v for v in q.list_adapter_versions(session, bot=bot.name)}
            adapter = versions.get(candidate.adapter_version)
            if adapter is None:
                log.warning(
                    "bot %s: adapter v%d of candidate %d has no store record",
                    bot.name,
                    candidate.adapter_version,
                    pub.candidate_id,
                )
    marking = ai_marking(platform)
    return Provenance(
        platform=platform.name,
        post_id=ref.id,
        bot=bot.name,
        publication_key=pub.idempotency_key,
        candidate_id=pub.candidate_id,
        adapter_version=adapter.version if adapter else None,
        adapter_sha256=adapter.sha256 if adapter else None,
        base_model=_base_model(adapter) or bot.base_model,
        lineage=_lineage(bot, adapter, versions),
        prompt_version=PROMPT_VERSION,
        published_at=published_at,
        ai_flag=marking is not None,
        ai_label=marking,
    )


def _base_model(adapter: AdapterVersion | None) -> str | None:
    """The base the adapter was saved on, from its record on disk (the bank writes it)."""
    if adapter is None:
        return None
    try:
        data = json.loads((Path(adapter.path) / ADAPTER_META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    base = data.get("base_model") if isinstance(data, dict) else None
    return base if isinstance(base, str) and base else None


def _lineage(
    bot: Bot, adapter: AdapterVersion | None, versions: dict[int, AdapterVersion]
) -> dict[str, Any] | None:
    """The elder lineage the adapter descends from (its spawn version's), or just the elder's
    name for a spawned bot whose chain does not reach it; None for a bot no elder spawned."""
    seen: set[int] = set()
    version = adapter
    while version is not None and version.version not in seen:
        seen.add(version.version)
        lineage = version.metrics.get("lineage")
        if isinstance(lineage, dict):
            return {"spawn_version": version.version, **lineage}
        version = versions.get(version.parent) if version.parent is not None else None
    if bot.parent_elder is None:
        return None
    if not versions:
        return {"elder": bot.parent_elder}
    for v in versions.values():  # the chain was broken (a version without its parent)
        lineage = v.metrics.get("lineage")
        if v.kind == "spawn" and isinstance(lineage, dict):
            return {"spawn_version": v.version, **lineage}
    return {"elder": bot.parent_elder}
