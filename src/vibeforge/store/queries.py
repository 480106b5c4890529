"""Keyword-only query functions: domain objects in, domain objects out.

Each function takes an open `Session` and leaves committing to the caller (`session_scope`),
so a cycle step can group its writes into one transaction.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vibeforge.domain import (
    AdapterVersion,
    ApiCall,
    Bot,
    BotStatus,
    Candidate,
    CandidateStatus,
    Elder,
    Metrics,
    Post,
    Provenance,
    Publication,
    PublicationStatus,
    Reward,
    SamplingTrace,
    Timeline,
    TimelineKind,
    post_id_newer,
)
from vibeforge.errors import AlreadyExistsError, NotFoundError, VibeforgeError
from vibeforge.store.tables import (
    AdapterVersionRow,
    ApiCallRow,
    BotRow,
    CandidateRow,
    ElderRow,
    FlagRow,
    MetricRow,
    PostRow,
    ProvenanceRow,
    PublicationRow,
    RewardRow,
    TimelineRow,
    utcnow,
)

# ---------------------------------------------------------------- timelines


def _timeline(row: TimelineRow) -> Timeline:
    return Timeline(
        name=row.name,
        kind=TimelineKind(row.kind),
        source=row.source,
        platform=row.platform,
        poll_interval_s=row.poll_interval_s,
        since_id=row.since_id,
        last_polled_at=row.last_polled_at,
    )


def create_timeline(session: Session, *, timeline: Timeline) -> Timeline:
    if session.get(TimelineRow, timeline.name) is not None:
        raise AlreadyExistsError(f"timeline {timeline.name!r} already exists; pick another name")
    session.add(
        TimelineRow(
            name=timeline.name,
            platform=timeline.platform,
            kind=timeline.kind.value,
            source=timeline.source,
            poll_interval_s=timeline.poll_interval_s,
            since_id=timeline.since_id,
        )
    )
    session.flush()
    return timeline


def get_timeline(session: Session, *, name: str) -> Timeline:
    row = session.get(TimelineRow, name)
    if row is None:
        known = session.scalars(select(TimelineRow.name).order_by(TimelineRow.name)).all()
        hint = (
            f" (known: {', '.join(known)})"
            if known
            else " (none defined: 'vibeforge timeline add')"
        )
        raise NotFoundError(f"no timeline named {name!r}{hint}")
    return _timeline(row)


def list_timelines(session: Session) -> list[Timeline]:
    return [_timeline(r) for r in session.scalars(select(TimelineRow).order_by(TimelineRow.name))]


def set_timeline_cursor(
    session: Session, *, name: str, since_id: str | None, polled_at: datetime
) -> None:
    """Advance a timeline's cursor after its new posts are stored (same transaction)."""
    row = session.get(TimelineRow, name)
    if row is None:
        raise NotFoundError(f"no timeline named {name!r}")
    if since_id is not None and (row.since_id is None or post_id_newer(since_id, row.since_id)):
        row.since_id = since_id
    row.last_polled_at = polled_at


# ---------------------------------------------------------------- bots


def _bot(row: BotRow) -> Bot:
    return Bot(
        name=row.name,
        timeline=row.timeline,
        account=row.account,
        persona=row.persona,
        base_model=row.base_model,
        status=BotStatus(row.status),
        posts_per_day=row.posts_per_day,
        created_at=row.created_at,
        parent_elder=row.parent_elder,
        platform=row.platform,
    )


def create_bot(session: Session, *, bot: Bot) -> Bot:
    if session.get(BotRow, bot.name) is not None:
        raise AlreadyExistsError(f"bot {bot.name!r} already exists; pick another name")
    if bot.timeline is not None:
        get_timeline(session, name=bot.timeline)
    row = BotRow(
        name=bot.name,
        timeline=bot.timeline,
        account=bot.account,
        persona=bot.persona,
        base_model=bot.base_model,
        status=bot.status.value,
        posts_per_day=bot.posts_per_day,
        parent_elder=bot.parent_elder,
        platform=bot.platform,
    )
    session.add(row)
    session.flush()
    return _bot(row)


def _bot_row(session: Session, name: str) -> BotRow:
    row = session.get(BotRow, name)
    if row is None:
        known = session.scalars(select(BotRow.name).order_by(BotRow.name)).all()
        hint = f" (known: {', '.join(known)})" if known else " (none yet: 'vibeforge bot create')"
        raise NotFoundError(f"no bot named {name!r}{hint}")
    return row


def get_bot(session: Session, *, name: str) -> Bot:
    return _bot(_bot_row(session, name))


def list_bots(session: Session, *, status: BotStatus | None = None) -> list[Bot]:
    query = select(BotRow).order_by(BotRow.name)
    if status is not None:
        query = query.where(BotRow.status == status.value)
    return [_bot(r) for r in session.scalars(query)]


def set_bot_status(session: Session, *, name: str, status: BotStatus) -> Bot:
    row = _bot_row(session, name)
    row.status = status.value
    session.flush()
    return _bot(row)


def delete_bot(session: Session, *, name: str) -> None:
    """Delete a bot and everything it owns; its published posts stay (author link cleared)."""
    row = _bot_row(session, name)
    session.delete(row)
    session.flush()


def bot_stats(session: Session, *, name: str) -> dict[str, Any]:
    _bot_row(session, name)
    counts = dict(
        session.execute(
            select(PublicationRow.status, func.count())
            .where(PublicationRow.bot == name)
            .group_by(PublicationRow.status)
        ).all()
    )
    versions = session.scalar(
        select(func.count()).select_from(AdapterVersionRow).where(AdapterVersionRow.bot == name)
    )
    mean_reward = session.scalar(select(func.avg(RewardRow.value)).where(RewardRow.bot == name))
    return {
        "publications": {s.value: int(counts.get(s.value, 0)) for s in PublicationStatus},
        "adapter_versions": int(versions or 0),
        "mean_reward": None if mean_reward is None else float(mean_reward),
    }


# ---------------------------------------------------------------- posts and metrics


def content_hash(text: str) -> str:
    """Hash of normalised text, used to deduplicate posts across timelines and reposts."""
    norm = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


def add_posts(
    session: Session,
    *,
    posts: Sequence[Post],
    timeline: str | None = None,
    bot: str | None = None,
) -> list[Post]:
    """Store posts not seen before (by platform id or by content hash); return the new ones.

    Callers pass scrubbed text only: privacy.scrub runs at the ingest boundary before this.
    Metrics carried by a new post are stored as its first observation.
    """
    if not posts:
        return []
    hashes = {p.id: content_hash(p.text) for p in posts}
    platforms = {p.platform for p in posts}
    seen_ids = set(
        session.scalars(
            select(PostRow.post_id).where(
                PostRow.platform.in_(platforms), PostRow.post_id.in_([p.id for p in posts])
            )
        )
    )
    seen_hashes = set(
        session.scalars(
            select(PostRow.content_hash).where(PostRow.content_hash.in_(hashes.values()))
        )
    )
    added: list[Post] = []
    for post in posts:
        digest = hashes[post.id]
        if post.id in seen_ids or (bot is None and digest in seen_hashes):
            continue
        seen_ids.add(post.id)
        seen_hashes.add(digest)
        row = PostRow(
            platform=post.platform,
            post_id=post.id,
            author_id=post.author_id,
            text=post.text,
            content_hash=digest,
            created_at=post.created_at,
            in_reply_to_id=post.in_reply_to_id,
            quote_of_id=post.quote_of_id,
            lang=post.lang,
            made_with_ai=post.made_with_ai,
            author_followers=post.author_followers,
            timeline=timeline,
            bot=bot,
        )
        session.add(row)
        if post.metrics is not None:
            session.flush()
            session.add(_metric_row(row, post.metrics))
        added.append(post)
    session.flush()
    return added


def _metric_row(post: PostRow, m: Metrics) -> MetricRow:
    age = (m.observed_at - post.created_at).total_seconds() if post.created_at else None
    return MetricRow(
        post_pk=post.pk,
        observed_at=m.observed_at,
        age_s=age,
        like_count=m.like_count,
        repost_count=m.repost_count,
        reply_count=m.reply_count,
        quote_count=m.quote_count,
        bookmark_count=m.bookmark_count,
        impression_count=m.impression_count,
    )


def _post_row(session: Session, post_id: str, platform: str) -> PostRow:
    row = session.scalar(
        select(PostRow).where(PostRow.platform == platform, PostRow.post_id == post_id)
    )
    if row is None:
        raise NotFoundError(f"no stored post {post_id!r} on {platform}")
    return row


def add_metrics(session: Session, *, observations: dict[str, Metrics], platform: str = "x") -> int:
    """Append one metrics observation per post id; unknown ids are an error (nothing written)."""
    rows = {
        r.post_id: r
        for r in session.scalars(
            select(PostRow).where(
                PostRow.platform == platform, PostRow.post_id.in_(list(observations))
            )
        )
    }
    missing = sorted(set(observations) - set(rows))
    if missing:
        raise NotFoundError(f"metrics for unknown posts: {', '.join(missing[:5])}")
    session.add_all(_metric_row(rows[pid], m) for pid, m in observations.items())
    session.flush()
    return len(observations)


def _metrics(row: MetricRow) -> Metrics:
    return Metrics(
        observed_at=row.observed_at,
        like_count=row.like_count,
        repost_count=row.repost_count,
        reply_count=row.reply_count,
        quote_count=row.quote_count,
        bookmark_count=row.bookmark_count,
        impression_count=row.impression_count,
    )


def metrics_history(session: Session, *, post_id: str, platform: str = "x") -> list[Metrics]:
    row = _post_row(session, post_id, platform)
    query = select(MetricRow).where(MetricRow.post_pk == row.pk).order_by(MetricRow.observed_at)
    return [_metrics(m) for m in session.scalars(query)]


def metrics_histories(
    session: Session,
    *,
    timeline: str | None = None,
    bot: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[tuple[Post, list[Metrics]]]:
    """Posts newest first (by timeline or own posts of a bot, and creation time, like
    list_posts) with every metrics observation of each, oldest first: one query per 500
    posts and one for the posts."""
    query = select(PostRow).order_by(PostRow.created_at.desc(), PostRow.pk.desc())
    if timeline is not None:
        query = query.where(PostRow.timeline == timeline)
    if bot is not None:
        query = query.where(PostRow.bot == bot)
    if since is not None:
        query = query.where(PostRow.created_at >= since)
    if limit is not None:
        query = query.limit(limit)
    rows = list(session.scalars(query))
    history: dict[int, list[Metrics]] = {r.pk: [] for r in rows}
    pks = list(history)
    for start in range(0, len(pks), 500):  # SQLite's bound-parameter limit
        chunk = pks[start : start + 500]
        observed = select(MetricRow).where(MetricRow.post_pk.in_(chunk))
        for m in session.scalars(observed.order_by(MetricRow.observed_at, MetricRow.id)):
            history[m.post_pk].append(_metrics(m))
    return [(_post(r), history[r.pk]) for r in rows]


def _post(row: PostRow, metrics: Metrics | None = None) -> Post:
    return Post(
        id=row.post_id,
        text=row.text,
        author_id=row.author_id,
        created_at=row.created_at,
        platform=row.platform,
        in_reply_to_id=row.in_reply_to_id,
        quote_of_id=row.quote_of_id,
        lang=row.lang,
        metrics=metrics,
        made_with_ai=row.made_with_ai,
        author_followers=row.author_followers,
    )


def list_posts(
    session: Session,
    *,
    timeline: str | None = None,
    bot: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
    with_metrics: bool = False,
) -> list[Post]:
    """Posts newest first, filtered by timeline, own posts of a bot, or creation time."""
    query = select(PostRow).order_by(PostRow.created_at.desc(), PostRow.pk.desc())
    if timeline is not None:
        query = query.where(PostRow.timeline == timeline)
    if bot is not None:
        query = query.where(PostRow.bot == bot)
    if since is not None:
        query = query.where(PostRow.created_at >= since)
    if limit is not None:
        query = query.limit(limit)
    rows = list(session.scalars(query))
    latest: dict[int, Metrics] = {}
    if with_metrics and rows:
        newest = (
            select(MetricRow.post_pk, func.max(MetricRow.id).label("mid"))
            .where(MetricRow.post_pk.in_([r.pk for r in rows]))
            .group_by(MetricRow.post_pk)
            .subquery()
        )
        for m in session.scalars(select(MetricRow).join(newest, MetricRow.id == newest.c.mid)):
            latest[m.post_pk] = _metrics(m)
    return [_post(r, latest.get(r.pk)) for r in rows]


def count_posts(
    session: Session,
    *,
    timeline: str | None = None,
    bots: Sequence[str] | None = None,
    since: datetime | None = None,
) -> int:
    """How many posts, filtered as list_posts filters them (`bots`: own posts of any of them)."""
    query = select(func.count()).select_from(PostRow)
    if timeline is not None:
        query = query.where(PostRow.timeline == timeline)
    if bots is not None:
        query = query.where(PostRow.bot.in_(list(bots)))
    if since is not None:
        query = query.where(PostRow.created_at >= since)
    return int(session.scalar(query) or 0)


# ---------------------------------------------------------------- candidates


def _trace_json(trace: SamplingTrace | None) -> dict[str, Any] | None:
    """A sampling trace as its JSON column (log-probabilities to 6 decimals)."""
    if trace is None:
        return None
    return {
        "prompt_ids": list(trace.prompt_ids),
        "token_ids": list(trace.token_ids),
        "logprobs": [round(x, 6) for x in trace.logprobs],
        "temperature": trace.temperature,
    }


def _trace(data: dict[str, Any] | None) -> SamplingTrace | None:
    if not data:
        return None
    return SamplingTrace(
        prompt_ids=tuple(int(x) for x in data["prompt_ids"]),
        token_ids=tuple(int(x) for x in data["token_ids"]),
        logprobs=tuple(float(x) for x in data["logprobs"]),
        temperature=float(data["temperature"]),
    )


def _candidate(row: CandidateRow) -> Candidate:
    return Candidate(
        id=row.id,
        bot=row.bot,
        text=row.text,
        adapter_version=row.adapter_version,
        predicted_reward=row.predicted_reward,
        guard=dict(row.guard or {}),
        status=CandidateStatus(row.status),
        created_at=row.created_at,
        trace=_trace(row.trace),
    )


def add_candidates(session: Session, *, candidates: Iterable[Candidate]) -> list[Candidate]:
    rows = [
        CandidateRow(
            bot=c.bot,
            text=c.text,
            adapter_version=c.adapter_version,
            predicted_reward=c.predicted_reward,
            guard=dict(c.guard),
            status=c.status.value,
            trace=_trace_json(c.trace),
        )
        for c in candidates
    ]
    session.add_all(rows)
    session.flush()
    return [_candidate(r) for r in rows]


def set_candidate_status(session: Session, *, candidate_id: int, status: CandidateStatus) -> None:
    row = session.get(CandidateRow, candidate_id)
    if row is None:
        raise NotFoundError(f"no candidate {candidate_id}")
    row.status = status.value


def get_candidate(session: Session, *, candidate_id: int) -> Candidate:
    row = session.get(CandidateRow, candidate_id)
    if row is None:
        raise NotFoundError(f"no candidate {candidate_id}")
    return _candidate(row)


def list_candidates(
    session: Session, *, bot: str | None = None, status: CandidateStatus | None = None
) -> list[Candidate]:
    query = select(CandidateRow).order_by(CandidateRow.id)
    if bot is not None:
        query = query.where(CandidateRow.bot == bot)
    if status is not None:
        query = query.where(CandidateRow.status == status.value)
    return [_candidate(r) for r in session.scalars(query)]


# ---------------------------------------------------------------- the outbox


_TRANSITIONS = {
    PublicationStatus.PENDING: {PublicationStatus.SENT, PublicationStatus.FAILED},
    PublicationStatus.SENT: {
        PublicationStatus.CONFIRMED,
        PublicationStatus.FAILED,
        PublicationStatus.PENDING,  # reconciliation found nothing: safe to send again
    },
    PublicationStatus.CONFIRMED: set(),
    PublicationStatus.FAILED: set(),
    PublicationStatus.HELD: {PublicationStatus.PENDING, PublicationStatus.FAILED},  # a person
}


def _publication(row: PublicationRow) -> Publication:
    return Publication(
        idempotency_key=row.idempotency_key,
        bot=row.bot,
        text=row.text,
        status=PublicationStatus(row.status),
        candidate_id=row.candidate_id,
        reply_to=row.reply_to,
        quote_of=row.quote_of,
        platform_post_id=row.platform_post_id,
        attempts=row.attempts,
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def enqueue_publication(session: Session, *, publication: Publication) -> Publication:
    """Write an outbox row, pending (or held for approval when `publication.status` is held);
    enqueuing the same idempotency key twice returns the first row."""
    existing = session.scalar(
        select(PublicationRow).where(PublicationRow.idempotency_key == publication.idempotency_key)
    )
    if existing is not None:
        return _publication(existing)
    _bot_row(session, publication.bot)
    row = PublicationRow(
        idempotency_key=publication.idempotency_key,
        bot=publication.bot,
        candidate_id=publication.candidate_id,
        text=publication.text,
        reply_to=publication.reply_to,
        quote_of=publication.quote_of,
        status=(
            PublicationStatus.HELD
            if publication.status is PublicationStatus.HELD
            else PublicationStatus.PENDING
        ).value,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # a concurrent writer enqueued the same key first
        session.rollback()
        existing = session.scalar(
            select(PublicationRow).where(
                PublicationRow.idempotency_key == publication.idempotency_key
            )
        )
        if existing is None:
            raise
        return _publication(existing)
    return _publication(row)


def get_publication(session: Session, *, idempotency_key: str) -> Publication:
    row = session.scalar(
        select(PublicationRow).where(PublicationRow.idempotency_key == idempotency_key)
    )
    if row is None:
        raise NotFoundError(f"no publication with key {idempotency_key!r}")
    return _publication(row)


def transition_publication(
    session: Session,
    *,
    idempotency_key: str,
    status: PublicationStatus,
    platform_post_id: str | None = None,
    error: str | None = None,
) -> Publication:
    """Move an outbox row along (held →) pending → sent → confirmed|failed; other moves are
    refused."""
    row = session.scalar(
        select(PublicationRow)
        .where(PublicationRow.idempotency_key == idempotency_key)
        .with_for_update()
    )
    if row is None:
        raise NotFoundError(f"no publication with key {idempotency_key!r}")
    current = PublicationStatus(row.status)
    if status not in _TRANSITIONS[current]:
        raise VibeforgeError(
            f"publication {idempotency_key!r} cannot go from {current.value} to {status.value}"
        )
    if status is PublicationStatus.SENT:
        row.attempts += 1
    if status is PublicationStatus.CONFIRMED and not platform_post_id:
        raise VibeforgeError("a confirmed publication needs the platform's post id")
    row.status = status.value
    row.platform_post_id = platform_post_id or row.platform_post_id
    row.error = error
    row.updated_at = utcnow()
    session.flush()
    return _publication(row)


def list_publications(
    session: Session,
    *,
    bot: str | None = None,
    statuses: Iterable[PublicationStatus] | None = None,
) -> list[Publication]:
    query = select(PublicationRow).order_by(PublicationRow.id)
    if bot is not None:
        query = query.where(PublicationRow.bot == bot)
    if statuses is not None:
        query = query.where(PublicationRow.status.in_([s.value for s in statuses]))
    return [_publication(r) for r in session.scalars(query)]


# ---------------------------------------------------------------- rewards


def add_reward(session: Session, *, reward: Reward) -> bool:
    """Record a reward once per (bot, post, preset, age); return False if it was already there."""
    exists = session.scalar(
        select(RewardRow.id).where(
            RewardRow.bot == reward.bot,
            RewardRow.post_id == reward.post_id,
            RewardRow.preset == reward.preset,
            RewardRow.age_s == reward.age_s,
        )
    )
    if exists is not None:
        return False
    session.add(
        RewardRow(
            bot=reward.bot,
            post_id=reward.post_id,
            value=reward.value,
            preset=reward.preset,
            age_s=reward.age_s,
            components=dict(reward.components),
        )
    )
    session.flush()
    return True


def list_rewards(session: Session, *, bot: str) -> list[Reward]:
    query = select(RewardRow).where(RewardRow.bot == bot).order_by(RewardRow.id)
    return [
        Reward(
            bot=r.bot,
            post_id=r.post_id,
            value=r.value,
            preset=r.preset,
            age_s=r.age_s,
            components=dict(r.components or {}),
            computed_at=r.computed_at,
        )
        for r in session.scalars(query)
    ]


# ---------------------------------------------------------------- adapters and elders


def _adapter(row: AdapterVersionRow) -> AdapterVersion:
    return AdapterVersion(
        bot=row.bot,
        version=row.version,
        path=row.path,
        sha256=row.sha256,
        kind=row.kind,
        parent=row.parent,
        window_start=row.window_start,
        window_end=row.window_end,
        metrics=dict(row.metrics or {}),
        created_at=row.created_at,
    )


def add_adapter_version(session: Session, *, adapter: AdapterVersion) -> AdapterVersion:
    _bot_row(session, adapter.bot)
    if session.get(AdapterVersionRow, (adapter.bot, adapter.version)) is not None:
        raise AlreadyExistsError(f"bot {adapter.bot!r} already has adapter v{adapter.version}")
    row = AdapterVersionRow(
        bot=adapter.bot,
        version=adapter.version,
        path=adapter.path,
        sha256=adapter.sha256,
        kind=adapter.kind,
        parent=adapter.parent,
        window_start=adapter.window_start,
        window_end=adapter.window_end,
        metrics=dict(adapter.metrics),
    )
    session.add(row)
    session.flush()
    return _adapter(row)


def list_adapter_versions(session: Session, *, bot: str) -> list[AdapterVersion]:
    query = (
        select(AdapterVersionRow)
        .where(AdapterVersionRow.bot == bot)
        .order_by(AdapterVersionRow.version)
    )
    return [_adapter(r) for r in session.scalars(query)]


def latest_adapter_version(session: Session, *, bot: str) -> AdapterVersion | None:
    versions = list_adapter_versions(session, bot=bot)
    return versions[-1] if versions else None


def adapter_versions_in_use(
    session: Session, *, bot: str | None = None
) -> set[tuple[str, int, str]]:
    """(bot, adapter version, why) for the candidates that were published (an outbox row of
    any status: "published") or wait in the approval queue ("queued for approval"): the
    versions adapter retention keeps."""
    published = select(CandidateRow.bot, CandidateRow.adapter_version).join(
        PublicationRow, PublicationRow.candidate_id == CandidateRow.id
    )
    queued = select(CandidateRow.bot, CandidateRow.adapter_version).where(
        CandidateRow.status == CandidateStatus.QUEUED.value
    )
    out: set[tuple[str, int, str]] = set()
    for why, query in (("published", published), ("queued for approval", queued)):
        query = query.where(CandidateRow.adapter_version.is_not(None)).distinct()
        if bot is not None:
            query = query.where(CandidateRow.bot == bot)
        out.update((b, int(v), why) for b, v in session.execute(query) if v is not None)
    return out


def upsert_elder(session: Session, *, elder: Elder) -> Elder:
    row = session.get(ElderRow, elder.name) or ElderRow(name=elder.name)
    row.base_model = elder.base_model
    row.version = elder.version
    row.bots = list(elder.bots)
    row.niches = list(elder.niches)
    row.path = elder.path
    session.add(row)
    session.flush()
    return get_elder(session, name=elder.name)


def get_elder(session: Session, *, name: str) -> Elder:
    row = session.get(ElderRow, name)
    if row is None:
        raise NotFoundError(f"no elder named {name!r}")
    return Elder(
        name=row.name,
        base_model=row.base_model,
        version=row.version,
        bots=tuple(row.bots),
        niches=tuple(row.niches),
        path=row.path,
        created_at=row.created_at,
    )


def list_elders(session: Session) -> list[Elder]:
    names = session.scalars(select(ElderRow.name).order_by(ElderRow.name)).all()
    return [get_elder(session, name=n) for n in names]


def purge_timeline_posts(session: Session, *, timeline: str, before: datetime) -> int:
    """Delete a timeline's ingested posts older than `before` (retention); returns the count."""
    result = session.execute(
        delete(PostRow).where(PostRow.timeline == timeline, PostRow.created_at < before)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def post_ids(
    session: Session,
    *,
    platform: str,
    timeline: str | None = None,
    bot: str | None = None,
    since: datetime | None = None,
) -> list[str]:
    """Ids of the stored posts on `platform` (a timeline's, or a bot's own), newest first."""
    query = (
        select(PostRow.post_id)
        .where(PostRow.platform == platform)
        .order_by(PostRow.created_at.desc(), PostRow.pk.desc())
    )
    if timeline is not None:
        query = query.where(PostRow.timeline == timeline)
    if bot is not None:
        query = query.where(PostRow.bot == bot)
    if since is not None:
        query = query.where(PostRow.created_at >= since)
    return list(session.scalars(query))


def delete_posts(session: Session, *, platform: str, post_ids: Sequence[str]) -> list[Post]:
    """Delete stored posts with their metrics and rewards (compliance: gone from the platform);
    returns the posts that were there. Outbox rows and provenance stay (the audit trail)."""
    removed: list[Post] = []
    ids = list(dict.fromkeys(post_ids))
    for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
        chunk = ids[start : start + 500]
        rows = list(
            session.scalars(
                select(PostRow).where(PostRow.platform == platform, PostRow.post_id.in_(chunk))
            )
        )
        if not rows:
            continue
        pks = [r.pk for r in rows]
        own = [(r.bot, r.post_id) for r in rows if r.bot is not None]
        removed.extend(_post(r) for r in rows)
        session.execute(delete(MetricRow).where(MetricRow.post_pk.in_(pks)))
        for bot, post_id in own:
            session.execute(
                delete(RewardRow).where(RewardRow.bot == bot, RewardRow.post_id == post_id)
            )
        session.execute(delete(PostRow).where(PostRow.pk.in_(pks)))
    session.flush()
    return removed


def ingested_texts(session: Session) -> list[str]:
    """The (scrubbed) texts of every stored timeline post: what the regurgitation index holds."""
    return list(session.scalars(select(PostRow.text).where(PostRow.bot.is_(None))))


# ---------------------------------------------------------------- provenance


def _provenance(row: ProvenanceRow) -> Provenance:
    return Provenance(
        platform=row.platform,
        post_id=row.post_id,
        bot=row.bot,
        publication_key=row.publication_key,
        candidate_id=row.candidate_id,
        adapter_version=row.adapter_version,
        adapter_sha256=row.adapter_sha256,
        base_model=row.base_model,
        lineage=None if row.lineage is None else dict(row.lineage),
        prompt_version=row.prompt_version,
        published_at=row.published_at,
        ai_flag=row.ai_flag,
        ai_label=row.ai_label,
        recorded_at=row.recorded_at,
        removed_at=row.removed_at,
    )


def record_provenance(session: Session, *, provenance: Provenance) -> Provenance:
    """Record a published post's provenance once; a second record of the same post returns
    the first (a reconciled post keeps what was recorded when it was confirmed)."""
    p = provenance
    existing = session.scalar(
        select(ProvenanceRow).where(
            ProvenanceRow.platform == p.platform, ProvenanceRow.post_id == p.post_id
        )
    )
    if existing is not None:
        return _provenance(existing)
    row = ProvenanceRow(
        platform=p.platform,
        post_id=p.post_id,
        bot=p.bot,
        publication_key=p.publication_key,
        candidate_id=p.candidate_id,
        adapter_version=p.adapter_version,
        adapter_sha256=p.adapter_sha256,
        base_model=p.base_model,
        lineage=None if p.lineage is None else dict(p.lineage),
        prompt_version=p.prompt_version,
        published_at=p.published_at,
        ai_flag=p.ai_flag,
        ai_label=p.ai_label,
        removed_at=p.removed_at,
    )
    session.add(row)
    session.flush()
    return _provenance(row)


def get_provenance(session: Session, *, post_id: str, platform: str | None = None) -> Provenance:
    """The provenance of a published post by the platform's id (on `platform`, if given)."""
    query = select(ProvenanceRow).where(ProvenanceRow.post_id == post_id)
    if platform is not None:
        query = query.where(ProvenanceRow.platform == platform)
    row = session.scalars(query.order_by(ProvenanceRow.id.desc())).first()
    if row is None:
        where = f" on {platform}" if platform else ""
        raise NotFoundError(f"no published post {post_id!r}{where} has a provenance record")
    return _provenance(row)


def provenance_for_posts(
    session: Session, *, post_ids: Sequence[str], platform: str | None = None
) -> dict[str, Provenance]:
    """Provenance by post id for those of `post_ids` that have one."""
    out: dict[str, Provenance] = {}
    ids = list(dict.fromkeys(post_ids))
    for start in range(0, len(ids), 500):
        query = select(ProvenanceRow).where(ProvenanceRow.post_id.in_(ids[start : start + 500]))
        if platform is not None:
            query = query.where(ProvenanceRow.platform == platform)
        out.update((r.post_id, _provenance(r)) for r in session.scalars(query))
    return out


def mark_provenance_removed(
    session: Session, *, platform: str, post_ids: Sequence[str], at: datetime
) -> int:
    """Note that published posts are gone from the platform; returns how many were noted."""
    count = 0
    ids = list(dict.fromkeys(post_ids))
    for start in range(0, len(ids), 500):
        rows = session.scalars(
            select(ProvenanceRow).where(
                ProvenanceRow.platform == platform,
                ProvenanceRow.post_id.in_(ids[start : start + 500]),
                ProvenanceRow.removed_at.is_(None),
            )
        )
        for row in rows:
            row.removed_at = at
            count += 1
    session.flush()
    return count


# ---------------------------------------------------------------- the call and cost ledger


def record_api_call(session: Session, *, call: ApiCall) -> None:
    """Add a call to the day's ledger line for (bot, kind, endpoint)."""
    key = (call.day, call.bot, call.kind, call.endpoint)
    row = session.get(ApiCallRow, key)
    if row is None:
        row = ApiCallRow(
            day=call.day,
            bot=call.bot,
            kind=call.kind,
            endpoint=call.endpoint,
            calls=0,
            units=0,
            cost_usd=0.0,
        )
        session.add(row)
    row.calls += call.calls
    row.units += call.units
    row.cost_usd += call.cost_usd
    session.flush()


def list_api_calls(
    session: Session, *, day: date | None = None, bot: str | None = None
) -> list[ApiCall]:
    query = select(ApiCallRow).order_by(ApiCallRow.day, ApiCallRow.bot, ApiCallRow.kind)
    if day is not None:
        query = query.where(ApiCallRow.day == day)
    if bot is not None:
        query = query.where(ApiCallRow.bot == bot)
    return [
        ApiCall(
            day=r.day,
            bot=r.bot,
            kind=r.kind,
            endpoint=r.endpoint,
            calls=r.calls,
            units=r.units,
            cost_usd=r.cost_usd,
        )
        for r in session.scalars(query)
    ]


# ---------------------------------------------------------------- operator flags


def set_flag(session: Session, *, name: str, value: dict[str, Any] | None) -> None:
    """Set (or clear, with None) a deployment-wide flag such as the kill switch."""
    row = session.get(FlagRow, name)
    if value is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(FlagRow(name=name, value=value))
    else:
        row.value = value
        row.updated_at = utcnow()
    session.flush()


def get_flag(session: Session, *, name: str) -> dict[str, Any] | None:
    row = session.get(FlagRow, name)
    return None if row is None else dict(row.value)
