"""World rows → X API v2 JSON objects: posts and users with the fields a request asked for, in
its vocabulary (vocab.py), and the `includes` its expansions name.

Audience members are users too (ids from `reactions.MEMBER_ID_BASE`, usernames `member<m>`):
they like and repost, follow the humans, and can be looked up, but never post.
"""

from __future__ import annotations

import re
from typing import Any

from vibeforge.sandbox import reposts
from vibeforge.sandbox.clock import iso
from vibeforge.sandbox.engine import POST_COLUMNS, PostRow, World, post_row
from vibeforge.sandbox.media import media_object, media_of_posts
from vibeforge.sandbox.reactions import Reactions, member_of, member_user_id
from vibeforge.sandbox.text import HASHTAG_RE, MENTION_RE, URL_RE
from vibeforge.sandbox.vocab import REFERENCE_AUTHOR_EXPANSIONS, REFERENCE_EXPANSIONS, Ask
from vibeforge.sandbox.world import WORLD_START_MS

PRIVATE_FIELDS = ("non_public_metrics", "organic_metrics", "promoted_metrics")
MEMBER_PREFIX = "member"  # audience member m's username: member<m>
_MEMBER_CREATED_MS = WORLD_START_MS - 60 * 86_400_000
_DIGITS = re.compile(r"[0-9]{1,9}")


def references(p: PostRow) -> list[dict[str, str]]:
    if p.repost_of:  # a repost refers to what it reposts, nothing else (reposts.py)
        return [{"type": "retweeted", "id": str(p.repost_of)}]
    refs = [{"type": "replied_to", "id": str(p.reply_to)}] if p.reply_to else []
    return refs + ([{"type": "quoted", "id": str(p.quote_of)}] if p.quote_of else [])


# a repost's counts: X counts the engagement on the original
_NO_ENGAGEMENT = {"impressions": 0, "like": 0, "repost": 0, "reply": 0, "quote": 0, "bookmark": 0}


def entities(text: str) -> dict[str, Any]:
    """Mentions, hashtags and URLs of a text, with code-point offsets as X gives them."""
    out: dict[str, Any] = {}
    mentions = [
        {"start": m.start(), "end": m.end(), "username": m.group()[1:]}
        for m in MENTION_RE.finditer(text)
    ]
    tags = [
        {"start": m.start(), "end": m.end(), "tag": m.group()[1:]}
        for m in HASHTAG_RE.finditer(text)
    ]
    urls = [
        {"start": m.start(), "end": m.end(), "url": m.group(), "expanded_url": m.group()}
        for m in URL_RE.finditer(text)
    ]
    for key, items in (("mentions", mentions), ("hashtags", tags), ("urls", urls)):
        if items:
            out[key] = items
    return out


def render_posts(
    world: World,
    posts: list[PostRow],
    *,
    ask: Ask,
    viewer: int | None,
    errors: list[dict[str, Any]],
    reactions: Reactions,
) -> list[dict[str, Any]]:
    fields = ask.post_fields
    want_metrics = bool(fields & {"public_metrics", *PRIVATE_FIELDS})
    ids = [p.id for p in posts if not p.repost_of]
    metrics = world.metrics(ids) if want_metrics else {}
    if want_metrics:
        metrics.update({p.id: _NO_ENGAGEMENT for p in posts if p.repost_of})
    by_accounts = reactions.account_counts(ids) if want_metrics else {}
    with_media = (
        media_of_posts(world.store, ids)
        if "attachments" in fields or "attachments.media_keys" in ask.expansions
        else {}
    )
    parents: dict[int, int] = {}
    if "in_reply_to_user_id" in fields:
        wanted = [p.reply_to for p in posts if p.reply_to]
        if wanted:
            marks = ",".join("?" * len(wanted))
            rows = world.store.all(f"SELECT id, author_id FROM posts WHERE id IN ({marks})", wanted)
            parents = {int(r[0]): int(r[1]) for r in rows}
    out = []
    for p in posts:
        pid = str(p.id)
        obj: dict[str, Any] = {
            "id": pid,
            "text": p.text,
            "edit_history_post_ids": [pid],
            "edit_history_tweet_ids": [pid],
        }
        if "created_at" in fields:
            obj["created_at"] = iso(p.created_ms)
        if "author_id" in fields:
            obj["author_id"] = str(p.author_id)
        if "lang" in fields:
            obj["lang"] = "en"
        if "conversation_id" in fields:
            obj["conversation_id"] = str(p.reply_to or p.id)
        if "in_reply_to_user_id" in fields and p.reply_to in parents:
            obj["in_reply_to_user_id"] = str(parents[p.reply_to])
        refs = references(p)
        for name in ("referenced_posts", "referenced_tweets"):
            if name in fields and refs:
                obj[name] = refs
        if "entities" in fields:
            found = entities(p.text)
            if found:
                obj["entities"] = found
        if p.id in with_media:  # asked for by the field or the expansion, as X does
            obj["attachments"] = {"media_keys": [m.media_key for m in with_media[p.id]]}
        if "possibly_sensitive" in fields:
            obj["possibly_sensitive"] = False
        if "reply_settings" in fields:
            obj["reply_settings"] = "everyone"
        if p.made_with_ai or "made_with_ai" in fields:
            obj["made_with_ai"] = p.made_with_ai
        m = metrics.get(p.id)
        if m is not None:
            extra = by_accounts.get(p.id, {})
            m = {**m, "like": m["like"] + extra.get("like", 0)}
            m["repost"] += extra.get("repost", 0)
            _add_metrics(obj, m, ask=ask, own=viewer == p.author_id, errors=errors)
        out.append(obj)
    return out


def _add_metrics(
    obj: dict[str, Any], m: dict[str, int], *, ask: Ask, own: bool, errors: list[dict[str, Any]]
) -> None:
    reposts = "retweet_count" if ask.legacy else "repost_count"
    if "public_metrics" in ask.post_fields:
        obj["public_metrics"] = {
            reposts: m["repost"],
            "reply_count": m["reply"],
            "like_count": m["like"],
            "quote_count": m["quote"],
            "bookmark_count": m["bookmark"],
            "impression_count": m["impressions"],
        }
    private = ask.post_fields & set(PRIVATE_FIELDS)
    if not private:
        return
    pid = obj["id"]
    if own:
        clicks = {"url_link_clicks": 0, "user_profile_clicks": 0}
        if "non_public_metrics" in private:
            obj["non_public_metrics"] = {"impression_count": m["impressions"], **clicks}
        if "organic_metrics" in private:
            obj["organic_metrics"] = {
                "impression_count": m["impressions"],
                "like_count": m["like"],
                "reply_count": m["reply"],
                reposts: m["repost"],
                **clicks,
            }
        return
    for name in sorted(private):
        errors.append(
            {
                "value": pid,
                "detail": f"Sorry, you are not authorized to access '{name}' on the "
                f"{'Tweet' if ask.legacy else 'Post'} with ids: [{pid}].",
                "field": name,
                "title": "Field Authorization Error",
                "resource_type": "tweet" if ask.legacy else "post",
                "parameter": "tweet.fields" if ask.legacy else "post.fields",
                "resource_id": pid,
                "section": "data",
                "type": "https://api.x.com/2/problems/not-authorized-for-field",
            }
        )


def includes(
    world: World,
    posts: list[PostRow],
    *,
    ask: Ask,
    viewer: int | None,
    errors: list[dict[str, Any]],
    reactions: Reactions,
) -> dict[str, Any]:
    """The `includes` of a page of posts: users (`author_id`, `in_reply_to_user_id`, the
    referenced posts' authors), the referenced posts themselves and the posts' images
    (`attachments.media_keys`)."""
    exp = ask.expansions
    out: dict[str, Any] = {}
    referenced: list[PostRow] = []
    if exp & (REFERENCE_EXPANSIONS | REFERENCE_AUTHOR_EXPANSIONS):
        ref_ids = list(
            dict.fromkeys(i for p in posts for i in (p.reply_to, p.quote_of, p.repost_of) if i)
        )
        if ref_ids:
            marks = ",".join("?" * len(ref_ids))
            rows = world.store.all(
                f"SELECT {POST_COLUMNS} FROM posts WHERE id IN ({marks}) AND deleted = 0 "
                "AND created_ms <= ?",
                [*ref_ids, world.now_ms()],
            )
            referenced = [post_row(r) for r in rows]
    user_ids: list[int] = []
    if "author_id" in exp:
        user_ids += [p.author_id for p in posts]
    if "in_reply_to_user_id" in exp:
        parents = {r.id: r.author_id for r in referenced}
        user_ids += [parents[p.reply_to] for p in posts if p.reply_to in parents]
    if exp & REFERENCE_AUTHOR_EXPANSIONS:
        user_ids += [r.author_id for r in referenced]
    if user_ids:
        out["users"] = render_users(world, user_ids, ask=ask, reactions=reactions)
    if referenced and exp & REFERENCE_EXPANSIONS:
        out[ask.posts_key] = render_posts(
            world, referenced, ask=ask, viewer=viewer, errors=errors, reactions=reactions
        )
    if "attachments.media_keys" in exp:
        attached = media_of_posts(world.store, [p.id for p in posts])
        media = {m.id: m for p in posts for m in attached.get(p.id, [])}
        if media:
            out["media"] = [media_object(m, ask.media_fields) for m in media.values()]
    return out


def render_users(
    world: World, user_ids: list[int], *, ask: Ask, reactions: Reactions
) -> list[dict[str, Any]]:
    """Users in the order given (first occurrence), accounts and audience members alike;
    unknown ids are left out."""
    if not user_ids:
        return []
    accounts = [u for u in user_ids if member_of(u) is None]
    by_id: dict[int, Any] = {}
    if accounts:
        marks = ",".join("?" * len(accounts))
        rows = world.store.all(
            f"SELECT id, username, name, created_ms, description FROM users WHERE id IN ({marks})",
            accounts,
        )
        by_id = {r[0]: r for r in rows}
    members = world.audience.activity.shape[0] if world.audience is not None else 0
    fields = ask.user_fields
    out = []
    for uid in dict.fromkeys(user_ids):
        m = member_of(uid)
        if m is not None:
            if m >= members:
                continue
            name, username, created, about = (
                f"Audience member {m}",
                f"{MEMBER_PREFIX}{m}",
                _MEMBER_CREATED_MS,
                "",
            )
        elif uid in by_id:
            r = by_id[uid]
            name, username, created, about = r[2], r[1], r[3], r[4] or ""
        else:
            continue
        obj: dict[str, Any] = {"id": str(uid), "name": name, "username": username}
        if "created_at" in fields:
            obj["created_at"] = iso(created)
        if "description" in fields:
            obj["description"] = about
        if "protected" in fields:
            obj["protected"] = False
        if "verified" in fields:
            obj["verified"] = False
        if "public_metrics" in fields:
            counts = user_metrics(world, uid, reactions=reactions)
            posts = counts.pop("tweet_count")
            counts["tweet_count" if ask.legacy else "post_count"] = posts
            obj["public_metrics"] = counts
        out.append(obj)
    return out


def user_metrics(world: World, uid: int, *, reactions: Reactions | None = None) -> dict[str, int]:
    """An account's (or member's) counts: followers, following, posts (`tweet_count`, its
    reposts included, as X counts them), lists and, with `reactions`, its API likes."""
    count = world.store.count
    m = member_of(uid)
    if m is not None:
        following = count("SELECT COUNT(*) FROM member_follows WHERE member = ?", (m,))
        return {
            "followers_count": 0,
            "following_count": following,
            "tweet_count": 0,
            "listed_count": 0,
            "like_count": 0,
        }
    now = world.now_ms()
    members = count("SELECT COUNT(*) FROM member_follows WHERE user_id = ?", (uid,))
    accounts = count("SELECT COUNT(*) FROM follows WHERE followee_id = ?", (uid,))
    following = count("SELECT COUNT(*) FROM follows WHERE follower_id = ?", (uid,))
    posts = count(
        "SELECT COUNT(*) FROM posts WHERE author_id = ? AND deleted = 0 AND created_ms <= ?",
        (uid, now),
    ) + reposts.count_by(world.store, uid, now_ms=now)
    listed = count("SELECT COUNT(*) FROM list_members WHERE user_id = ?", (uid,))
    likes = len(reactions.liked_by(uid, now_ms=now)) if reactions is not None else 0
    return {
        "followers_count": members + accounts,
        "following_count": following,
        "tweet_count": posts,
        "listed_count": listed,
        "like_count": likes,
    }


def member_id_of(username: str) -> int | None:
    """The user id of `member<m>`, or None for any other username."""
    digits = username[len(MEMBER_PREFIX) :]
    canonical = digits == "0" or not digits.startswith("0")
    if username.lower().startswith(MEMBER_PREFIX) and _DIGITS.fullmatch(digits) and canonical:
        return member_user_id(int(digits))
    return None
