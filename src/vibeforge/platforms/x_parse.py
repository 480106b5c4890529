"""X API v2 JSON → vibeforge domain objects, once, at the boundary.

Accepts both vocabularies X has used (spec 2.167 renamed them): `retweet_count`/`repost_count`,
`tweet_count`/`post_count`, `referenced_tweets`/`referenced_posts`, problem types under
`api.twitter.com` or `api.x.com`.
Anything malformed raises `PlatformError` naming what was wrong, never a KeyError deep inside.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from vibeforge.domain import Account, Metrics, Post, PostRef
from vibeforge.platforms.base import PlatformError


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise PlatformError(f"malformed API JSON: created_at {value!r} is not a timestamp")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PlatformError(f"malformed API JSON: created_at {value!r} is not ISO 8601") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _count(metrics: dict[str, Any], *names: str) -> int:
    for name in names:
        if name in metrics and metrics[name] is not None:
            try:
                return int(metrics[name])
            except (TypeError, ValueError):
                raise PlatformError(f"malformed API JSON: {name}={metrics[name]!r}") from None
    return 0


def parse_metrics(obj: dict[str, Any], *, observed_at: datetime) -> Metrics | None:
    public = obj.get("public_metrics")
    if public is None:
        return None
    if not isinstance(public, dict):
        raise PlatformError("malformed API JSON: public_metrics is not an object")
    private = obj.get("non_public_metrics") or obj.get("organic_metrics") or {}
    impressions = public.get("impression_count", private.get("impression_count"))
    return Metrics(
        observed_at=observed_at,
        like_count=_count(public, "like_count", "favorite_count"),
        repost_count=_count(public, "retweet_count", "repost_count"),
        reply_count=_count(public, "reply_count"),
        quote_count=_count(public, "quote_count"),
        bookmark_count=_count(public, "bookmark_count"),
        impression_count=None if impressions is None else int(impressions),
    )


def parse_post(obj: Any, *, observed_at: datetime) -> Post:
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        raise PlatformError(f"malformed API JSON: a post without a string id: {str(obj)[:120]}")
    text = obj.get("text")
    if not isinstance(text, str):
        raise PlatformError(f"malformed API JSON: post {obj['id']} has no text")
    reply_to = quote_of = repost_of = None
    for ref in obj.get("referenced_tweets") or obj.get("referenced_posts") or []:
        if isinstance(ref, dict):
            if ref.get("type") == "replied_to":
                reply_to = str(ref.get("id"))
            elif ref.get("type") == "quoted":
                quote_of = str(ref.get("id"))
            elif ref.get("type") == "retweeted":  # a repost: its text is `RT @author: ...`
                repost_of = str(ref.get("id"))
    return Post(
        id=obj["id"],
        text=text,
        author_id=str(obj.get("author_id", "")),
        created_at=_parse_time(obj["created_at"]) if "created_at" in obj else observed_at,
        in_reply_to_id=reply_to,
        quote_of_id=quote_of,
        lang=obj.get("lang"),
        metrics=parse_metrics(obj, observed_at=observed_at),
        made_with_ai=bool(obj.get("made_with_ai", False)),
        withheld=bool(obj.get("withheld")),  # {"copyright": ..., "country_codes": [...]}
        repost_of_id=repost_of,
    )


def parse_post_ref(obj: Any) -> PostRef:
    data = obj.get("data") if isinstance(obj, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise PlatformError("malformed API JSON: create answered without data.id")
    created = data.get("created_at")
    return PostRef(
        id=data["id"],
        text=str(data.get("text", "")),
        created_at=_parse_time(created) if created else None,
    )


def parse_media_id(obj: Any) -> str:
    """The media id of a `POST /2/media/upload` answer."""
    data = obj.get("data") if isinstance(obj, dict) else None
    media_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(media_id, str) or not media_id.isascii() or not media_id.isdigit():
        raise PlatformError("malformed API JSON: media upload answered without data.id")
    return media_id


def parse_account(obj: Any) -> Account:
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        raise PlatformError("malformed API JSON: a user without a string id")
    public = obj.get("public_metrics") or {}
    return Account(
        id=obj["id"],
        handle=str(obj.get("username", "")),
        name=str(obj.get("name", "")),
        followers_count=_count(public, "followers_count"),
        following_count=_count(public, "following_count"),
        post_count=_count(public, "tweet_count", "post_count"),
        created_at=_parse_time(obj["created_at"]) if obj.get("created_at") else None,
    )


def error_message(body: Any, *, status: int) -> str:
    """One line from X's error shapes: {title, detail, type, status} or {errors: [...]}."""
    if isinstance(body, dict):
        errors = body.get("errors")
        specific = ""
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            specific = str(first.get("message") or first.get("detail") or first.get("title") or "")
        if body.get("detail") or body.get("title"):
            head = f"{body.get('title', 'Error')}: {body.get('detail', '')}".strip(": ")
            return f"{head} ({specific})" if specific else head
        if specific:
            return specific
    return f"HTTP {status}"


# X's problem types (`https://api.x.com/2/problems/<slug>`, formerly under api.twitter.com: only
# the slug is compared) and titles, by what they mean
_NOT_FOUND = ({"resource-not-found"}, {"Not Found Error"})
_FORBIDDEN = ({"not-authorized-for-resource", "not-authorized"}, {"Authorization Error"})
_UNSUPPORTED_AUTH = ({"unsupported-authentication"}, {"Unsupported Authentication"})


def _problems(body: Any) -> list[dict[str, Any]]:
    """The problem objects of an answer: the top-level one, then each entry of `errors[]`."""
    if not isinstance(body, dict):
        return []
    out = [body] if body.get("type") or body.get("title") else []
    errors = body.get("errors")
    if isinstance(errors, list):
        out.extend(e for e in errors if isinstance(e, dict))
    return out


def problem_kind(body: Any) -> str | None:
    """What an error answer says, by X's problem type or title: "not_found", "forbidden",
    "unsupported_auth", or None for anything else."""
    for problem in _problems(body):
        slug = str(problem.get("type") or "").rstrip("/").rsplit("/", 1)[-1]
        title = str(problem.get("title") or "")
        for kind, (slugs, titles) in (
            ("unsupported_auth", _UNSUPPORTED_AUTH),
            ("not_found", _NOT_FOUND),
            ("forbidden", _FORBIDDEN),
        ):
            if slug in slugs or title in titles:
                return kind
    return None


def errors_without_data(body: Any) -> bool:
    """A 2xx answer that is an error in X's way: `errors[]` and no `data` (an unknown user's
    timeline, a missing List). An empty result (no data, no errors) is not one."""
    if not isinstance(body, dict) or body.get("data") is not None:
        return False
    errors = body.get("errors")
    return isinstance(errors, list) and bool(errors)


def with_author_followers(posts: list[Post], body: Any) -> list[Post]:
    """`posts` with each author's follower count from the response's `includes.users`
    (`expansions=author_id`, `user.fields=public_metrics`); posts whose author is not
    included keep None."""
    includes = body.get("includes") if isinstance(body, dict) else None
    users = includes.get("users") if isinstance(includes, dict) else None
    if not isinstance(users, list) or not posts:
        return posts
    followers: dict[str, int] = {}
    for user in users:
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            continue
        public = user.get("public_metrics")
        if isinstance(public, dict) and "followers_count" in public:
            followers[user["id"]] = _count(public, "followers_count")
    return [
        replace(p, author_followers=followers[p.author_id]) if p.author_id in followers else p
        for p in posts
    ]
