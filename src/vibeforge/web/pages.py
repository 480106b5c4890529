"""Read-only pages: overview, bot detail, trends and drift, distillation, approvals, ledger;
and the images bots' posts carried (served from the outbox's store, thumbnails on the bot page)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from vibeforge.analytics import queries as aq
from vibeforge.analytics.learning_curve import learning_curve
from vibeforge.domain import CandidateStatus
from vibeforge.errors import NotFoundError
from vibeforge.store import approvals, session_scope
from vibeforge.store import images as stored_images
from vibeforge.store import queries as q
from vibeforge.web import charts
from vibeforge.web.options import DashboardOptions
from vibeforge.web.render import render

router = APIRouter()
# what the dashboard serves as an image: the types X and Bluesky take (never SVG, which can
# carry script); anything else stored is not shown
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


@contextmanager
def _session(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.engine) as session:
        yield session


def _options(request: Request) -> DashboardOptions:
    options: DashboardOptions = request.app.state.options
    return options


@router.get("/", response_class=HTMLResponse)
def overview(request: Request) -> HTMLResponse:
    with _session(request) as session:
        summaries = aq.overview(session)
        queued = len(approvals.queued(session))
        platforms = _platforms(session)
    return render(
        request,
        "overview.html",
        {
            "title": "Overview",
            "summaries": summaries,
            "queued": queued,
            "platforms": {s.bot.name: platforms.get(s.bot.timeline or "") for s in summaries},
            "chart": charts.engagement_chart(summaries),
        },
    )


@router.get("/bots/{name}", response_class=HTMLResponse)
def bot_detail(request: Request, name: str) -> HTMLResponse:
    opts = _options(request)
    with _session(request) as session:
        bot = q.get_bot(session, name=name)
        platform = _platforms(session).get(bot.timeline or "")
        curve = learning_curve(
            session, bot=name, age_weights=opts.reward_age_weights, smooth=opts.smooth
        )
        versions = q.list_adapter_versions(session, bot=name)
        posts = q.list_posts(session, bot=name, limit=opts.recent_posts, with_metrics=True)
        provenance = q.provenance_for_posts(session, post_ids=[p.id for p in posts])
        images = {
            post_id: image
            for post_id, image in stored_images.post_images(
                session, bot=name, post_ids=[p.id for p in posts]
            ).items()
            if image.mime in IMAGE_TYPES  # what the image route would refuse is not shown
        }
        rejections = aq.rejections(session, bot=name)
        growth = aq.growth(session, bot=name)
        candidates = Counter(c.status.value for c in q.list_candidates(session, bot=name))
        publications = Counter(p.status.value for p in q.list_publications(session, bot=name))
    return render(
        request,
        "bot.html",
        {
            "title": f"Bot {bot.name}",
            "bot": bot,
            "platform": platform,
            "curve": curve,
            "versions": versions,
            "children": _children(versions),
            "posts": posts,
            "provenance": provenance,
            "images": images,
            "rejections": rejections,
            "growth": growth,
            "candidates": dict(sorted(candidates.items())),
            "publications": dict(sorted(publications.items())),
            "chart": charts.learning_chart(curve),
        },
    )


@router.get("/bots/{name}/image")
def post_image(request: Request, name: str, post: str) -> Response:
    """The image a bot's post went out with, as the outbox stored it (`?post=` its id: post
    ids of some platforms hold slashes)."""
    with _session(request) as session:
        q.get_bot(session, name=name)  # an unknown bot is its own 404
        image = stored_images.post_image(session, bot=name, post_id=post)
    if image is None or image.mime not in IMAGE_TYPES:
        raise NotFoundError(f"bot {name}'s post {post} carried no image")
    # a post's image never changes: browsers may keep it
    return Response(image.data, media_type=image.mime, headers={"Cache-Control": "max-age=86400"})


def _platforms(session: Session) -> dict[str, str]:
    """Each timeline's platform kind: a bot is on its timeline's platform (a fleet may mix
    them: X, Bluesky, and the sandbox's two faces)."""
    return {t.name: t.platform for t in q.list_timelines(session)}


def _children(versions: list[Any]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for v in versions:
        if v.parent is not None:
            out[v.parent].append(v.version)
    return dict(out)


@router.get("/trends", response_class=HTMLResponse)
def trends_index(request: Request) -> HTMLResponse:
    with _session(request) as session:
        timelines = q.list_timelines(session)
        bots = q.list_bots(session)
        niches = [
            {
                "timeline": t,
                "posts": q.count_posts(session, timeline=t.name),
                "bots": [b.name for b in bots if b.timeline == t.name],
            }
            for t in timelines
        ]
    return render(request, "trends_index.html", {"title": "Trends", "niches": niches})


@router.get("/trends/{niche}", response_class=HTMLResponse)
def niche(request: Request, niche: str) -> HTMLResponse:
    opts = _options(request)
    events = list(request.app.state.trend_events(niche))
    embed = None
    if opts.embeddings:
        from vibeforge.embedding import shared_embedder

        embed = shared_embedder().encode
    with _session(request) as session:
        report = aq.niche_trends(session, niche=niche, config=opts.bursts, events=events)
        shifts = aq.niche_shift(
            session,
            niche=niche,
            window_s=opts.drift_window_s,
            embed=embed,
            embed_per_window=opts.embed_per_window,
            last_windows=opts.drift_windows,
        )
        spread = aq.niche_cascades(session, niche=niche)
        growth = aq.growth(session, timeline=niche)
    marks = {"events": events, "bursts": report.bursts}
    return render(
        request,
        "niche.html",
        {
            "title": f"Trends: {niche}",
            "report": report,
            "events": report.events,
            "cascades": spread,
            "growth": growth,
            "window_h": opts.drift_window_s / 3600,
            "embeddings": embed is not None,
            "centroid_chart": charts.drift_chart(shifts, metric="centroid_shift", **marks),
            "jsd_chart": charts.drift_chart(shifts, metric="token_jsd", **marks),
        },
    )


@router.get("/distill", response_class=HTMLResponse)
def distill(request: Request) -> HTMLResponse:
    with _session(request) as session:
        elders = q.list_elders(session)
        bots = q.list_bots(session)
    spawned = [b for b in bots if b.parent_elder]
    in_subset = {name for e in elders for name in e.bots}
    return render(
        request,
        "distill.html",
        {
            "title": "Distillation",
            "elders": elders,
            "spawned": spawned,
            "unassigned": [b for b in bots if b.name not in in_subset],
        },
    )


@router.get("/approvals", response_class=HTMLResponse)
def approvals_page(request: Request, done: str | None = None) -> HTMLResponse:
    with _session(request) as session:
        items = approvals.queued(session)
        decided = q.list_candidates(session, status=CandidateStatus.CHOSEN)[-10:]
    return render(
        request,
        "approvals.html",
        {"title": "Approvals", "items": items, "done": done, "recent": list(reversed(decided))},
    )


@router.get("/ledger", response_class=HTMLResponse)
def ledger(request: Request) -> HTMLResponse:
    with _session(request) as session:
        calls = q.list_api_calls(session)
    per_bot: dict[str, dict[str, float]] = defaultdict(lambda: {"calls": 0, "cost": 0.0})
    per_day: dict[str, dict[str, float]] = defaultdict(lambda: {"calls": 0, "cost": 0.0})
    for c in calls:
        for table, key in ((per_bot, c.bot), (per_day, c.day.isoformat())):
            table[key]["calls"] += c.calls
            table[key]["cost"] += c.cost_usd
    return render(
        request,
        "ledger.html",
        {
            "title": "API calls and cost",
            "calls": list(reversed(calls)),
            "per_bot": dict(sorted(per_bot.items())),
            "per_day": dict(sorted(per_day.items())),
            "total_cost": sum(c.cost_usd for c in calls),
            "total_calls": sum(c.calls for c in calls),
            "chart": charts.ledger_chart(calls),
        },
    )


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
