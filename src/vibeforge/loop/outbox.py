"""Publishing through the outbox: a post reaches the platform at most once, whatever crashes.

    pending ──(commit)──► sent ──platform.publish──► confirmed      (post id stored)
                            │
                            └─ crash / timeout / 5xx: stays `sent`; the next run reconciles:
                               the account's recent posts are read; found → confirmed,
                               absent → pending (safe to send again)

Confirming a row stores the post and its provenance (`loop.provenance`) in the same
transaction. A definite refusal (4xx, policy) marks the row failed; a budget or rate limit hit
before sending puts it back to pending and stops this run. The platform's policy is checked
first (`loop.policy`): nothing goes out through a client that would not mark it AI-made, and a
reply or quote that needs a person's approval and has none is failed, never sent. Rows held for
approval wait.

Images: a post (not a reply, nor a quote: X refuses media with a quote) is sent with the
picture its bot's image source gives (`analytics.images`; none by default). It is rendered when
a row without one is sent, and kept with the row (`store.images`) in the transaction that marks
it `sent`, so a row sent again after a crash carries the same picture, and the dashboard shows
the one the post went out with. The upload is part of the platform call: a crash after the
upload and before the create leaves an uploaded image nobody posted (X lets such media expire
after 24 h, Bluesky collects unused blobs), and the retry uploads it again; the post itself
still exists once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from vibeforge.analytics.images import ImageSource, NoImages
from vibeforge.domain import Bot, Image, Post, PostRef, Publication, PublicationStatus
from vibeforge.loop.policy import ai_label_refusal, engagement_refusal
from vibeforge.loop.provenance import provenance_for
from vibeforge.platforms.base import BudgetExceeded, Platform, PlatformError, RateLimited
from vibeforge.platforms.policy import DEFAULT_POLICY, PlatformPolicy
from vibeforge.store import images as stored_images
from vibeforge.store import queries as q
from vibeforge.store import session_scope

log = logging.getLogger(__name__)
RECONCILE_MARGIN = timedelta(minutes=2)
RECONCILE_LOOKBACK = timedelta(days=7)  # a bot with no confirmed post yet: how far to look


@dataclass
class PublishReport:
    confirmed: list[str] = field(default_factory=list)  # platform post ids
    reconciled: int = 0  # `sent` rows found on the platform after a crash
    requeued: int = 0  # `sent` rows proven absent, back to pending
    failed: int = 0
    stopped: str | None = None  # why this run stopped early (budget, rate limit, uncertain)


def _confirm(
    engine: Engine, *, bot: Bot, pub: Publication, ref: PostRef, now: datetime, platform: Platform
) -> None:
    """Confirm the row, store the post and its provenance: one transaction, all or nothing."""
    published_at = ref.created_at or now
    with session_scope(engine) as s:
        q.transition_publication(
            s,
            idempotency_key=pub.idempotency_key,
            status=PublicationStatus.CONFIRMED,
            platform_post_id=ref.id,
        )
        q.add_posts(
            s,
            posts=[
                Post(
                    id=ref.id,
                    text=pub.text,
                    author_id=bot.account or bot.name,
                    created_at=published_at,
                    made_with_ai=True,
                    in_reply_to_id=pub.reply_to,
                    quote_of_id=pub.quote_of,
                    platform=platform.name,  # its metrics are read back under the same name
                )
            ],
            bot=bot.name,
        )
        q.record_provenance(
            s,
            provenance=provenance_for(
                s, bot=bot, pub=pub, ref=ref, platform=platform, published_at=published_at
            ),
        )


def reconcile(engine: Engine, *, platform: Platform, bot: Bot, now: datetime) -> PublishReport:
    """Settle rows left `sent` by a crash: confirmed if on the platform, else pending again."""
    report = PublishReport()
    with session_scope(engine) as s:
        sent = q.list_publications(s, bot=bot.name, statuses=[PublicationStatus.SENT])
    if not sent:
        return report
    since = _reconcile_since(engine, bot=bot, now=now)
    for pub in sent:
        found = platform.find_published(account=_account(bot), text=pub.text, since=since)
        if found is not None:
            _confirm(engine, bot=bot, pub=pub, ref=found, now=now, platform=platform)
            report.reconciled += 1
            report.confirmed.append(found.id)
        else:
            with session_scope(engine) as s:
                q.transition_publication(
                    s, idempotency_key=pub.idempotency_key, status=PublicationStatus.PENDING
                )
            report.requeued += 1
    return report


def _reconcile_since(engine: Engine, *, bot: Bot, now: datetime) -> datetime:
    """Platform time from which a `sent` row's post could exist.

    The outbox sends a bot's rows in order, so a row left `sent` went out after the bot's last
    confirmed post. Row stamps are the store's wall clock and cannot be compared with the
    platform's (the sandbox runs its own clock), so the bound comes from that post instead.
    """
    with session_scope(engine) as s:
        last = q.list_posts(s, bot=bot.name, limit=1)
    if last:
        return last[0].created_at - RECONCILE_MARGIN
    return now - RECONCILE_LOOKBACK


def _account(bot: Bot) -> str:
    if not bot.account:
        raise PlatformError(f"bot {bot.name!r} has no platform account; set one with --account")
    return bot.account


def _picture(engine: Engine, *, bot: Bot, pub: Publication, source: ImageSource) -> Image | None:
    """The picture a row goes out with: the one kept from an earlier send, else the source's
    for a post (replies and quotes go text only: X takes media or a quote, not both). A source
    that fails costs the picture, not the post."""
    with session_scope(engine) as s:
        kept = stored_images.image_of(s, idempotency_key=pub.idempotency_key)
    if kept is not None or pub.reply_to is not None or pub.quote_of is not None:
        return kept
    try:
        return source.image_for(bot, pub.text)
    except Exception:  # a chart is decoration: a plotting or data error must not stop posting
        log.exception("bot %s: no image for %s, its source failed", bot.name, pub.idempotency_key)
        return None


def publish_pending(
    engine: Engine,
    *,
    platform: Platform,
    bot: Bot,
    now: datetime,
    limit: int | None = None,
    policy: PlatformPolicy = DEFAULT_POLICY,
    images: ImageSource | None = None,
) -> PublishReport:
    """Reconcile, then send this bot's pending outbox rows (oldest first) as `policy` allows,
    each post with the picture `images` gives for it (None: text only)."""
    source = images if images is not None else NoImages()
    report = reconcile(engine, platform=platform, bot=bot, now=now)
    with session_scope(engine) as s:
        pending = q.list_publications(s, bot=bot.name, statuses=[PublicationStatus.PENDING])
    unlabelled = ai_label_refusal(policy, platform)
    if pending and unlabelled:
        report.stopped = unlabelled
        log.warning("bot %s stops publishing: %s", bot.name, unlabelled)
        return report
    for pub in pending[:limit]:
        with session_scope(engine) as s:
            refused = engagement_refusal(s, policy=policy, pub=pub)
            if refused:  # never sent: a person did not approve this reply or quote
                q.transition_publication(
                    s,
                    idempotency_key=pub.idempotency_key,
                    status=PublicationStatus.FAILED,
                    error=refused,
                )
        if refused:
            report.failed += 1
            log.warning("bot %s: reply or quote not sent: %s", bot.name, refused)
            continue
        image = _picture(engine, bot=bot, pub=pub, source=source)
        with session_scope(engine) as s:  # committed before the call: a crash leaves `sent`
            if image is not None:  # kept with the row: a send after a crash sends the same
                stored_images.save_image(s, idempotency_key=pub.idempotency_key, image=image)
            q.transition_publication(
                s, idempotency_key=pub.idempotency_key, status=PublicationStatus.SENT
            )
        try:
            ref = platform.publish(
                account=_account(bot),
                text=pub.text,
                idempotency_key=pub.idempotency_key,
                reply_to=pub.reply_to,
                quote_of=pub.quote_of,
                images=() if image is None else (image,),
            )
        except (BudgetExceeded, RateLimited) as exc:  # refused before anything was sent
            with session_scope(engine) as s:
                q.transition_publication(
                    s,
                    idempotency_key=pub.idempotency_key,
                    status=PublicationStatus.PENDING,
                    error=str(exc),
                )
            report.stopped = str(exc)
            log.warning("bot %s stops publishing: %s", bot.name, exc)
            break
        except PlatformError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                with session_scope(engine) as s:
                    q.transition_publication(
                        s,
                        idempotency_key=pub.idempotency_key,
                        status=PublicationStatus.FAILED,
                        error=str(exc),
                    )
                report.failed += 1
                log.warning("bot %s: post refused: %s", bot.name, exc)
                continue
            # uncertain (network, 5xx): the row stays `sent` and is reconciled next run
            report.stopped = f"uncertain outcome, will reconcile: {exc}"
            log.warning("bot %s: %s", bot.name, report.stopped)
            break
        _confirm(engine, bot=bot, pub=pub, ref=ref, now=now, platform=platform)
        report.confirmed.append(ref.id)
    return report
