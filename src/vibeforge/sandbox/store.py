"""The sandbox's own SQLite database (independent of vibeforge's store): accounts, tokens,
posts with their embeddings, the hidden engagement truth, lists, follows and trend events, and
the XRPC face's records (posts made with a chosen record key, profiles) and blobs, and the X
face's uploaded images (`x_media`) and which posts carry them (`x_post_media`), and its reposts
as posts of their own (`x_reposts`). The X face reads posts and reposts alike through views:
`x_originals` (the posts, `repost_of` NULL), `x_repost_posts` (the reposts as posts) and
`x_posts` (both). A page reads the first two apart and merges them (xpages.py): SQLite pushes
no `IN (subquery)` condition into a compound view, which would scan every post.

One connection guarded by a lock; WAL journal so readers in other processes never block.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE COLLATE NOCASE, name TEXT NOT NULL,
    kind TEXT NOT NULL, niche TEXT, created_ms INTEGER NOT NULL, description TEXT DEFAULT '');
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY, role TEXT NOT NULL, user_id INTEGER);
CREATE TABLE IF NOT EXISTS follows (
    follower_id INTEGER NOT NULL, followee_id INTEGER NOT NULL,
    PRIMARY KEY (follower_id, followee_id));
CREATE TABLE IF NOT EXISTS member_follows (
    member INTEGER NOT NULL, user_id INTEGER NOT NULL, PRIMARY KEY (member, user_id));
CREATE TABLE IF NOT EXISTS lists (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, owner_id INTEGER NOT NULL, niche TEXT);
CREATE TABLE IF NOT EXISTS list_members (
    list_id INTEGER NOT NULL, user_id INTEGER NOT NULL, PRIMARY KEY (list_id, user_id));
CREATE TABLE IF NOT EXISTS posts (
    id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL, text TEXT NOT NULL,
    created_ms INTEGER NOT NULL, reply_to INTEGER, quote_of INTEGER,
    made_with_ai INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0,
    niche TEXT, scored INTEGER NOT NULL DEFAULT 0, emb BLOB);
CREATE INDEX IF NOT EXISTS posts_author ON posts (author_id, id);
CREATE INDEX IF NOT EXISTS posts_unscored ON posts (scored, created_ms);
CREATE TABLE IF NOT EXISTS truth (
    post_id INTEGER PRIMARY KEY, final TEXT NOT NULL, expected TEXT NOT NULL, info TEXT NOT NULL,
    impressions INTEGER NOT NULL, likes INTEGER NOT NULL, reposts INTEGER NOT NULL,
    replies INTEGER NOT NULL, quotes INTEGER NOT NULL, bookmarks INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS trends (
    id INTEGER PRIMARY KEY, niche TEXT NOT NULL, at_ms INTEGER NOT NULL, text TEXT NOT NULL,
    strength REAL NOT NULL, direction BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS at_records (
    author_id INTEGER NOT NULL, collection TEXT NOT NULL, rkey TEXT NOT NULL,
    post_id INTEGER UNIQUE, record TEXT NOT NULL, cid TEXT NOT NULL, created_ms INTEGER NOT NULL,
    PRIMARY KEY (author_id, collection, rkey));
CREATE TABLE IF NOT EXISTS at_blobs (
    cid TEXT PRIMARY KEY, author_id INTEGER NOT NULL, mime TEXT NOT NULL, size INTEGER NOT NULL,
    data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS x_media (
    id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL, mime TEXT NOT NULL, size INTEGER NOT NULL,
    width INTEGER, height INTEGER, alt_text TEXT, created_ms INTEGER NOT NULL,
    data BLOB NOT NULL, additional_owners TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS x_post_media (
    post_id INTEGER NOT NULL, position INTEGER NOT NULL, media_id INTEGER NOT NULL,
    PRIMARY KEY (post_id, position));
CREATE TABLE IF NOT EXISTS x_reposts (
    id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, post_id INTEGER NOT NULL,
    created_ms INTEGER NOT NULL, text TEXT NOT NULL, UNIQUE (user_id, post_id));
CREATE INDEX IF NOT EXISTS x_reposts_user ON x_reposts (user_id, id);
CREATE INDEX IF NOT EXISTS x_reposts_post ON x_reposts (post_id);
CREATE VIEW IF NOT EXISTS x_originals AS
    SELECT id, author_id, text, created_ms, reply_to, quote_of, made_with_ai, scored, deleted,
        NULL AS repost_of FROM posts;
CREATE VIEW IF NOT EXISTS x_repost_posts AS
    SELECT r.id AS id, r.user_id AS author_id, r.text AS text, r.created_ms AS created_ms,
        NULL AS reply_to, NULL AS quote_of, 0 AS made_with_ai, 1 AS scored,
        o.deleted AS deleted, r.post_id AS repost_of
    FROM x_reposts r JOIN posts o ON o.id = r.post_id;
CREATE VIEW IF NOT EXISTS x_posts AS
    SELECT * FROM x_originals UNION ALL SELECT * FROM x_repost_posts;
"""
TABLES = (
    "meta",
    "users",
    "tokens",
    "follows",
    "member_follows",
    "lists",
    "list_members",
    "posts",
    "truth",
    "trends",
    "at_records",
    "at_blobs",
    "x_media",
    "x_post_media",
    "x_reposts",
)


class SandboxStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.conn.execute("BEGIN")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def all(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self.conn.execute(sql, tuple(args)).fetchall()

    def one(self, sql: str, args: Iterable[Any] = ()) -> sqlite3.Row | None:
        with self.lock:
            return self.conn.execute(sql, tuple(args)).fetchone()

    def count(self, sql: str, args: Iterable[Any] = ()) -> int:
        """The first column of the first row of a COUNT query."""
        row = self.one(sql, args)
        return 0 if row is None else int(row[0])

    def wipe(self) -> None:
        with self.tx() as c:
            for table in TABLES:
                c.execute(f"DELETE FROM {table}")

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return default if row is None else json.loads(row["value"])

    def set_meta(self, key: str, value: Any) -> None:
        with self.lock:
            self.conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )
