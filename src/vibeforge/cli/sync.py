"""Apply the timelines and bots declared in vibeforge.yaml to the store (create missing ones)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vibeforge.config import Settings, timeline_platform
from vibeforge.domain import Bot, Timeline
from vibeforge.errors import NotFoundError
from vibeforge.store import queries as q


def sync_specs(session: Session, *, settings: Settings) -> list[str]:
    """Create declared timelines and bots that the store lacks; return what was created. A
    timeline is on its bots' platform (`platform:`'s when none of them names one)."""
    created: list[str] = []
    known_timelines = {t.name for t in q.list_timelines(session)}
    on = timeline_platform(settings)
    for spec in settings.timelines:
        if spec.name not in known_timelines:
            q.create_timeline(
                session,
                timeline=Timeline(
                    name=spec.name,
                    kind=spec.kind,
                    source=spec.source,
                    poll_interval_s=spec.poll_interval_s,
                    platform=settings.platform_named(on.get(spec.name)).registered_kind,
                ),
            )
            created.append(f"timeline {spec.name}")
    for bot_spec in settings.bots:
        try:
            q.get_bot(session, name=bot_spec.name)
        except NotFoundError:
            q.create_bot(
                session,
                bot=Bot(
                    name=bot_spec.name,
                    timeline=bot_spec.timeline,
                    account=bot_spec.account,
                    persona=bot_spec.persona,
                    base_model=bot_spec.base_model,
                    posts_per_day=bot_spec.posts_per_day,
                    platform=bot_spec.platform,
                ),
            )
            created.append(f"bot {bot_spec.name}")
    return created
