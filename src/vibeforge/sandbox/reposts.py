"""Reposts as posts of their own on the X face, as X serves them.

On X a repost (retweet) is itself a post: its own id, the reposter as author, its own
`created_at`, the text `RT @original_author: <original text>` (cut to 140 characters, `…`
last, as X cuts a retweet's text; the whole text is the referenced post's) and
`referenced_tweets: [{"type": "retweeted", "id": <original>}]`. It shows in the reposter's
timeline (unless `exclude=retweets`), in home timelines, Lists and search (`is:retweet`).

Here a repost is a row of `x_reposts` (its id minted like an API post's, from the same
sequence, so the ids of posts and reposts never meet and grow with time), written in the
transaction that records the account's repost reaction (`reactions.Reactions.add`) and erased
with it. The X face reads posts and reposts together through the view `x_posts`; everything
else reads `posts`, so the audience never sees a repost as an original: reposts are not
scored, indexed for near-duplicates, counted as the author's recent posts or served by the
XRPC face (where a repost is a `reasonRepost` feed item, not a post). Engagement is X's on
the original: a repost's counts are zeros. A repost of a deleted post is gone with it.
Only accounts' reposts are posts: the audience members' are counts, as their likes are.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from vibeforge.sandbox.store import SandboxStore

if TYPE_CHECKING:
    from vibeforge.sandbox.engine import World

TEXT_LIMIT = 140  # X cuts a retweet's text to the 140 characters of old


def repost_text(username: str, text: str) -> str:
    """The text X gives a repost of `username`'s post `text`."""
    full = f"RT @{username}: {text}"
    return full if len(full) <= TEXT_LIMIT else full[: TEXT_LIMIT - 1] + "…"


def record(world: World, c: sqlite3.Connection, *, user_id: int, post_id: int, at_ms: int) -> int:
    """The id of `user_id`'s repost of `post_id`, written now unless it exists (a second
    repost of the same post is the first). The caller holds `world.lock` inside a
    transaction (`c`)."""
    found = c.execute(
        "SELECT id FROM x_reposts WHERE user_id = ? AND post_id = ?", (user_id, post_id)
    ).fetchone()
    if found is not None:
        return int(found[0])
    row = c.execute(
        "SELECT u.username, p.text FROM posts p JOIN users u ON u.id = p.author_id WHERE p.id = ?",
        (post_id,),
    ).fetchone()
    if row is None:
        raise ValueError(f"no post {post_id} to repost")
    repost_id = world.mint_post_id(c, at_ms)
    c.execute(
        "INSERT INTO x_reposts (id, user_id, post_id, created_ms, text) VALUES (?, ?, ?, ?, ?)",
        (repost_id, user_id, post_id, at_ms, repost_text(str(row[0]), str(row[1]))),
    )
    return repost_id


def erase(c: sqlite3.Connection, *, user_id: int, post_id: int) -> None:
    """Undo `user_id`'s repost of `post_id` (nothing when there is none)."""
    c.execute("DELETE FROM x_reposts WHERE user_id = ? AND post_id = ?", (user_id, post_id))


def source_of(store: SandboxStore, repost_id: int) -> tuple[int, int] | None:
    """(reposter, reposted post) of a repost's id, or None when the id is no repost."""
    row = store.one("SELECT user_id, post_id FROM x_reposts WHERE id = ?", (repost_id,))
    return None if row is None else (int(row[0]), int(row[1]))


def count_by(store: SandboxStore, user_id: int, *, now_ms: int) -> int:
    """An account's reposts of posts still there (X counts them in `tweet_count`)."""
    return store.count(
        "SELECT COUNT(*) FROM x_reposts r JOIN posts p ON p.id = r.post_id "
        "WHERE r.user_id = ? AND p.deleted = 0 AND r.created_ms <= ?",
        (user_id, now_ms),
    )
