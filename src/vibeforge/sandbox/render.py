"""World rows → X API v2 JSON objects, honouring `tweet.fields`/`post.fields`, `user.fields`
and `expansions=author_id`."""

from __future__ import annotations

from typing import Any

from vibeforge.sandbox.clock import iso
from vibeforge.sandbox.engine import PostRow, World
from vibeforge.sandbox.problems import invalid

TWEET_FIELDS = {
    "attachments",
    "author_id",
    "context_annotations",
    "conversation_id",
    "created_at",
    "edit_controls",
    "edit_history_tweet_ids",
    "entities",
    "geo",
    "id",
    "in_reply_to_user_id",
    "lang",
    "non_public_metrics",
    "organic_metrics",
    "possibly_sensitive",
    "promoted_metrics",
    "public_metrics",
    "referenced_tweets",
    "reply_settings",
    "source",
    "text",
    "withheld",
    "note_tweet",
    "made_with_ai",
    "community_id",
    "display_text_range",
    "scopes",
}
USER_FIELDS = {
    "created_at",
    "description",
    "entities",
    "id",
    "location",
    "name",
    "pinned_tweet_id",
    "profile_image_url",
    "protected",
    "public_metrics",
    "url",
    "username",
    "verified",
    "verified_type",
    "withheld",
    "most_recent_tweet_id",
}
PRIVATE_FIELDS = ("non_public_metrics", "organic_metrics", "promoted_metrics")


def parse_fields(query: Any, names: tuple[str, ...], allowed: set[str]) -> set[str]:
    fields: set[str] = set()
    for name in names:
        raw = query.get(name)
        if raw is None:
            continue
        for item in raw.split(","):
            item = item.strip()
            if item not in allowed:
                raise invalid(
                    f"The `{name}` query parameter value [{item}] is not one of "
                    f"[{', '.join(sorted(allowed))}]",
                    parameter=name,
                    value=item,
                )
            fields.add(item)
    return fields


def tweet_fields(query: Any) -> set[str]:
    return parse_fields(query, ("tweet.fields", "post.fields"), TWEET_FIELDS)


def user_fields(query: Any) -> set[str]:
    return parse_fields(query, ("user.fields",), USER_FIELDS)


def expansions(query: Any) -> set[str]:
    allowed = {
        "author_id",
        "referenced_tweets.id",
        "in_reply_to_user_id",
        "referenced_tweets.id.author_id",
        "attachments.media_keys",
        "pinned_tweet_id",
        "entities.mentions.username",
        "edit_history_tweet_ids",
    }
    return parse_fields(query, ("expansions",), allowed)


def render_posts(
    world: World,
    posts: list[PostRow],
    *,
    fields: set[str],
    viewer: int | None,
    errors: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    metrics = (
        world.metrics([p.id for p in posts]) if fields & {"public_metrics", *PRIVATE_FIELDS} else {}
    )
    out = []
    for p in posts:
        pid = str(p.id)
        obj: dict[str, Any] = {"id": pid, "text": p.text, "edit_history_tweet_ids": [pid]}
        if "created_at" in fields:
            obj["created_at"] = iso(p.created_ms)
        if "author_id" in fields:
            obj["author_id"] = str(p.author_id)
        if "lang" in fields:
            obj["lang"] = "en"
        if "conversation_id" in fields:
            obj["conversation_id"] = str(p.reply_to or p.id)
        if "in_reply_to_user_id" in fields and p.reply_to:
            parent = world.store.one("SELECT author_id FROM posts WHERE id = ?", (p.reply_to,))
            if parent:
                obj["in_reply_to_user_id"] = str(parent[0])
        if "referenced_tweets" in fields:
            refs = [{"type": "replied_to", "id": str(p.reply_to)}] if p.reply_to else []
            refs += [{"type": "quoted", "id": str(p.quote_of)}] if p.quote_of else []
            if refs:
                obj["referenced_tweets"] = refs
        if p.made_with_ai or "made_with_ai" in fields:
            obj["made_with_ai"] = p.made_with_ai
        m = metrics.get(p.id)
        if m is not None and "public_metrics" in fields:
            obj["public_metrics"] = {
                "retweet_count": m["repost"],
                "reply_count": m["reply"],
                "like_count": m["like"],
                "quote_count": m["quote"],
                "bookmark_count": m["bookmark"],
                "impression_count": m["impressions"],
            }
        private = fields & set(PRIVATE_FIELDS)
        if m is not None and private:
            if viewer == p.author_id:
                extra = {"url_link_clicks": 0, "user_profile_clicks": 0}
                if "non_public_metrics" in private:
                    obj["non_public_metrics"] = {"impression_count": m["impressions"], **extra}
                if "organic_metrics" in private:
                    obj["organic_metrics"] = {
                        "impression_count": m["impressions"],
                        "like_count": m["like"],
                        "reply_count": m["reply"],
                        "retweet_count": m["repost"],
                        **extra,
                    }
            else:
                for name in sorted(private):
                    errors.append(
                        {
                            "value": pid,
                            "detail": f"Sorry, you are not authorized to access "
                            f"'{name}' on the Tweet with ids: [{pid}].",
                            "field": name,
                            "title": "Field Authorization Error",
                            "resource_type": "tweet",
                            "parameter": "tweet.fields",
                            "resource_id": pid,
                            "section": "data",
                            "type": "https://api.twitter.com/2/problems/not-authorized-for-field",
                        }
                    )
        out.append(obj)
    return out


def render_users(world: World, user_ids: list[int], *, fields: set[str]) -> list[dict[str, Any]]:
    if not user_ids:
        return []
    marks = ",".join("?" * len(user_ids))
    rows = world.store.all(
        f"SELECT id, username, name, created_ms, description FROM users WHERE id IN ({marks})",
        user_ids,
    )
    by_id = {r[0]: r for r in rows}
    out = []
    for uid in dict.fromkeys(user_ids):
        r = by_id.get(uid)
        if r is None:
            continue
        obj: dict[str, Any] = {"id": str(r[0]), "name": r[2], "username": r[1]}
        if "created_at" in fields:
            obj["created_at"] = iso(r[3])
        if "description" in fields:
            obj["description"] = r[4] or ""
        if "protected" in fields:
            obj["protected"] = False
        if "verified" in fields:
            obj["verified"] = False
        if "public_metrics" in fields:
            obj["public_metrics"] = user_metrics(world, uid)
        out.append(obj)
    return out


def user_metrics(world: World, uid: int) -> dict[str, int]:
    now = world.now_ms()
    count = world.store.count
    members = count("SELECT COUNT(*) FROM member_follows WHERE user_id = ?", (uid,))
    accounts = count("SELECT COUNT(*) FROM follows WHERE followee_id = ?", (uid,))
    following = count("SELECT COUNT(*) FROM follows WHERE follower_id = ?", (uid,))
    posts = count(
        "SELECT COUNT(*) FROM posts WHERE author_id = ? AND deleted = 0 AND created_ms <= ?",
        (uid, now),
    )
    listed = count("SELECT COUNT(*) FROM list_members WHERE user_id = ?", (uid,))
    return {
        "followers_count": members + accounts,
        "following_count": following,
        "tweet_count": posts,
        "listed_count": listed,
        "like_count": 0,
    }
