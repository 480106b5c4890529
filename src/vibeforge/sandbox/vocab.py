"""The X API v2 vocabulary the sandbox speaks, checked at the door of every `/2` request.

The current names are X's OpenAPI spec 2.167 (xdevplatform/docs `openapi.json`, August 2026):
`post.fields`, `referenced_posts`, `edit_history_post_ids`, `repost_count` and `post_count`,
includes under `posts`. The older names X used until then (`tweet.fields`, `referenced_tweets`,
`edit_history_tweet_ids`, `retweet_count`, `tweet_count`, includes under `tweets`) are still
accepted. A request that uses an older name (`tweet.fields`, a `referenced_tweets.*` or
`*_tweet_id(s)` expansion) is answered in the older vocabulary, any other in the current one;
a post always carries both `edit_history_post_ids` and `edit_history_tweet_ids` (the default
field each generation of clients expects: xdk's models read the first, tweepy's the second).

Query parameters are checked as X checks them: a name the operation does not take, a repeated
name, an empty value or a field the object does not have is a 400 naming the parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vibeforge.sandbox.problems import invalid

# Post fields: the spec's `post.fields` enum, the Post properties it leaves out of the enum, the
# older `tweet.fields` names, and the sandbox's own `made_with_ai`
POST_FIELDS = frozenset(
    {
        "article",
        "article_title",
        "attachments",
        "card_uri",
        "community_id",
        "context_annotations",
        "conversation_id",
        "created_at",
        "display_text_range",
        "edit_controls",
        "entities",
        "geo",
        "id",
        "lang",
        "matched_media_notes",
        "media_metadata",
        "non_public_metrics",
        "note_post",
        "note_request_suggestions",
        "organic_metrics",
        "paid_partnership",
        "possibly_sensitive",
        "promoted_metrics",
        "public_metrics",
        "reply_settings",
        "scopes",
        "source",
        "suggested_source_links",
        "suggested_source_links_with_counts",
        "text",
        "withheld",
        # Post properties
        "author_id",
        "in_reply_to_user_id",
        "referenced_posts",
        "edit_history_post_ids",
        "username",
        # the older names
        "referenced_tweets",
        "edit_history_tweet_ids",
        "note_tweet",
        "made_with_ai",
    }
)
USER_FIELDS = frozenset(
    {
        "affiliation",
        "confirmed_email",
        "connection_status",
        "created_at",
        "description",
        "entities",
        "id",
        "is_identity_verified",
        "location",
        "most_recent_post_id",
        "name",
        "parody",
        "pinned_post_id",
        "profile_banner_url",
        "profile_image_url",
        "protected",
        "public_metrics",
        "receives_your_dm",
        "subscribes_to_you",
        "subscription",
        "subscription_type",
        "url",
        "username",
        "verified",
        "verified_followers_count",
        "verified_type",
        "withheld",
        "pinned_tweet_id",
        "most_recent_tweet_id",
    }
)
MEDIA_FIELDS = frozenset(
    {
        "alt_text",
        "duration_ms",
        "height",
        "media_key",
        "non_public_metrics",
        "organic_metrics",
        "preview_image_url",
        "promoted_metrics",
        "public_metrics",
        "type",
        "url",
        "variants",
        "width",
    }
)
POLL_FIELDS = frozenset({"duration_minutes", "end_datetime", "id", "options", "voting_status"})
PLACE_FIELDS = frozenset(
    {
        "contained_within",
        "country",
        "country_code",
        "full_name",
        "geo",
        "id",
        "name",
        "place_type",
    }
)
POST_EXPANSIONS = frozenset(
    {
        "article.cover_media",
        "article.media_entities",
        "attachments.media_keys",
        "attachments.media_source_tweet",
        "attachments.poll_ids",
        "author_id",
        "edit_history_post_ids",
        "entities.mentions.username",
        "geo.place_id",
        "in_reply_to_user_id",
        "referenced_posts",
        "referenced_posts.id",
        "referenced_posts.id.author_id",
        "username",
        # the older names
        "edit_history_tweet_ids",
        "referenced_tweets.id",
        "referenced_tweets.id.author_id",
        "referenced_tweets.id.attachments.media_keys",
        "entities.note.mentions.username",
    }
)
USER_EXPANSIONS = frozenset(
    {
        "affiliation",
        "most_recent_post_id",
        "pinned_post_id",
        "pinned_tweet_id",
        "most_recent_tweet_id",
    }
)
LEGACY_EXPANSIONS = frozenset(
    {
        "edit_history_tweet_ids",
        "referenced_tweets.id",
        "referenced_tweets.id.author_id",
        "referenced_tweets.id.attachments.media_keys",
        "pinned_tweet_id",
        "most_recent_tweet_id",
    }
)
REFERENCE_EXPANSIONS = frozenset(
    {"referenced_posts", "referenced_posts.id", "referenced_tweets.id"}
)
REFERENCE_AUTHOR_EXPANSIONS = frozenset(
    {"referenced_posts.id.author_id", "referenced_tweets.id.author_id"}
)

# the parameters an operation that returns posts (or users) takes for their fields
POST_OBJECT_PARAMS = frozenset(
    {
        "post.fields",
        "tweet.fields",
        "expansions",
        "user.fields",
        "media.fields",
        "poll.fields",
        "place.fields",
    }
)
USER_OBJECT_PARAMS = frozenset({"user.fields", "expansions", "post.fields", "tweet.fields"})
PAGING = frozenset({"max_results", "pagination_token"})
WINDOW = frozenset({"start_time", "end_time", "since_id", "until_id"})


@dataclass(frozen=True, slots=True)
class Ask:
    """What a request asked to see, and in which vocabulary."""

    legacy: bool  # answer with the older names
    post_fields: frozenset[str]
    user_fields: frozenset[str]
    expansions: frozenset[str]
    media_fields: frozenset[str] = frozenset()

    @property
    def posts_key(self) -> str:
        """Where expanded posts go under `includes`."""
        return "tweets" if self.legacy else "posts"


def check_params(query: Any, allowed: frozenset[str]) -> None:
    """400 for a parameter the operation does not take, one given twice, or an empty value."""
    seen: set[str] = set()
    for name, value in query.multi_items():
        if name not in allowed:
            raise invalid(
                f"The query parameter [{name[:60]}] is not one of [{','.join(sorted(allowed))}]",
                parameter=name[:60],
                value=value[:60],
            )
        if name in seen:
            raise invalid(f"Duplicate parameters are not allowed: [{name}]", parameter=name)
        seen.add(name)
        if value == "":
            raise invalid(
                f"The `{name}` query parameter can not be empty", parameter=name, value=""
            )


def _names(query: Any, name: str, allowed: frozenset[str]) -> frozenset[str]:
    raw = query.get(name)
    if raw is None:
        return frozenset()
    out = set()
    for item in raw.split(","):
        if item not in allowed:
            raise invalid(
                f"The `{name}` query parameter value [{item[:60]}] is not one of "
                f"[{', '.join(sorted(allowed))}]",
                parameter=name,
                value=item[:60],
            )
        out.add(item)
    return frozenset(out)


def ask(query: Any, *, returns: str) -> Ask:
    """The fields and expansions of a request to an operation that returns "posts" or
    "users" (their expansions differ); 400 for a name that is not one."""
    post_fields = _names(query, "post.fields", POST_FIELDS) | _names(
        query, "tweet.fields", POST_FIELDS
    )
    exp = _names(query, "expansions", POST_EXPANSIONS if returns == "posts" else USER_EXPANSIONS)
    for name, allowed in (
        ("poll.fields", POLL_FIELDS),
        ("place.fields", PLACE_FIELDS),
    ):
        _names(query, name, allowed)
    return Ask(
        legacy="tweet.fields" in query or bool(exp & LEGACY_EXPANSIONS),
        post_fields=post_fields,
        user_fields=_names(query, "user.fields", USER_FIELDS),
        expansions=exp,
        media_fields=_names(query, "media.fields", MEDIA_FIELDS),
    )
