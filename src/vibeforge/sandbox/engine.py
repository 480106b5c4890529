"""The live sandbox world: its store, clock and audience, posting, reading and scoring.

Posts are scored (engagement drawn) once, in creation order: scheduled human posts when the
world is seeded, API posts lazily (before any read that needs their metrics, or on `flush`).
Scoring a post depends only on the world, the seed, the post and what was posted before it,
so the same seed and the same calls give the same numbers.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vibeforge.embedding import Embedder, SentenceEmbedder
from vibeforge.paths import SandboxFolder
from vibeforge.sandbox.atids import HANDLE_SUFFIX, handle_for, tid
from vibeforge.sandbox.clock import SimClock, resume_ms
from vibeforge.sandbox.corpus import niche_tweets
from vibeforge.sandbox.embed import make_embedder
from vibeforge.sandbox.ids import API_SEQUENCE_BASE, snowflake
from vibeforge.sandbox.index import PostIndex
from vibeforge.sandbox.media import posts_with_media
from vibeforge.sandbox.model import (
    COLUMNS,
    AudienceParams,
    Outcome,
    PostFactors,
    accrued,
    engage,
    post_rng,
)
from vibeforge.sandbox.problems import SandboxError
from vibeforge.sandbox.store import SandboxStore
from vibeforge.sandbox.text import normalise, style
from vibeforge.sandbox.trends import (
    Trend,
    check_trend,
    list_trends,
    record_trend,
    resample_humans,
    trend_direction,
)
from vibeforge.sandbox.world import DAY_MS, Audience, WorldSpec, build_world, world_spec

HOUR_MS = 3_600_000


def username_of(store: SandboxStore, handle: str) -> str | None:
    """The username of an account named by its username or by its XRPC face's handle
    (`my_bot` or `my-bot.test`), or None when the world has no such account."""
    key = handle.removeprefix("@")
    if store.one("SELECT 1 FROM users WHERE username = ?", (key,)):
        return key
    if not key.lower().endswith(HANDLE_SUFFIX):
        return None
    label = key.lower().removesuffix(HANDLE_SUFFIX)
    rows = store.all(  # handle_for's spelling undone in SQL, then checked exactly
        "SELECT username FROM users WHERE trim(lower(replace(username, '_', '-')), '-') = ?",
        (label,),
    )
    return next((str(r[0]) for r in rows if handle_for(str(r[0])) == key.lower()), None)


def user_token_of(store: SandboxStore, handle: str) -> str:
    """An account's user token, by username or XRPC handle; SandboxError when it has none."""
    username = username_of(store, handle)
    row = (
        None
        if username is None
        else store.one(
            "SELECT t.token FROM tokens t JOIN users u ON u.id = t.user_id "
            "WHERE u.username = ? AND t.role = 'user'",
            (username,),
        )
    )
    if row is None:
        raise SandboxError(f"no account @{handle} in the sandbox world")
    return str(row[0])


class RecordExists(SandboxError):
    """The author already has a record under this collection and record key."""


@dataclass(frozen=True, slots=True)
class AtRecord:
    """A post's record as the XRPC face received it: where it lives, its JSON and CID."""

    collection: str
    rkey: str | None  # None: the TID of the post's id
    json: str
    cid: str


@dataclass(frozen=True, slots=True)
class PostRow:
    id: int
    author_id: int
    text: str
    created_ms: int
    reply_to: int | None
    quote_of: int | None
    made_with_ai: bool
    scored: bool
    # the X face's reposts are posts of their own there (view `x_posts`): the reposted post
    repost_of: int | None = None


POST_COLUMNS = "id, author_id, text, created_ms, reply_to, quote_of, made_with_ai, scored"
# the X face reads `x_posts` (posts and reposts) with these
X_POST_COLUMNS = POST_COLUMNS + ", repost_of"


def post_row(r: Any) -> PostRow:
    """A row of POST_COLUMNS (from `posts`) or X_POST_COLUMNS (from `x_posts`)."""
    repost_of = r[8] if len(r) > 8 else None
    return PostRow(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), bool(r[7]), repost_of)


class World:
    """One sandbox world on disk under `home`; thread-safe."""

    def __init__(
        self, *, home: Path, params: AudienceParams | None = None, speed: float = 1.0
    ) -> None:
        self.home = home
        self.folder = SandboxFolder(home)
        self.params = params or AudienceParams()
        self.store = SandboxStore(self.folder.database)
        self.lock = threading.RLock()
        self.speed = speed
        start = resume_ms(self.store.get_meta("clock_ms", 0), self.store.get_meta("clock_anchor"))
        self.clock = SimClock(start_ms=start, speed=speed)
        self._embedders: dict[str, Embedder] = {}
        self.audience: Audience | None = None
        self._api_seq = 0
        if self.store.get_meta("world") is not None:
            self._load()
            self.save_clock()

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def seeded(self) -> bool:
        return self.audience is not None

    @property
    def spec(self) -> WorldSpec:
        return WorldSpec(
            **{
                **self.store.get_meta("world"),
                "niches": tuple(self.store.get_meta("world")["niches"]),
            }
        )

    @property
    def seed_value(self) -> int:
        return int(self.store.get_meta("seed", 0))

    def embedder(self, name: str | None = None) -> Embedder:
        name = name or self.spec.embedder
        if name not in self._embedders:
            self._embedders[name] = make_embedder(name, cache_dir=self.folder.embeddings)
        return self._embedders[name]

    def seed(self, *, world: str = "demo", seed: int = 0, **overrides: Any) -> None:
        """Replace whatever world is here with a fresh one."""
        try:
            spec = world_spec(world, **overrides)
        except ValueError as exc:
            raise SandboxError(str(exc)) from None
        with self.lock:
            build_world(
                store=self.store,
                spec=spec,
                seed=seed,
                embedder=self.embedder(spec.embedder),
                audience_path=self.folder.audience,
            )
            self.clock = SimClock(start_ms=self.store.get_meta("clock_ms"), speed=self.speed)
            self._load()
            self.save_clock()
            self.flush()
            emb = self._embedders.get(spec.embedder)
            if isinstance(emb, SentenceEmbedder):
                emb.flush()

    def _require(self) -> Audience:
        if self.audience is None:
            raise SandboxError("no sandbox world here yet; seed one (vibeforge sandbox seed)")
        return self.audience

    def _load(self) -> None:
        path = self.folder.audience
        if not path.exists():
            raise SandboxError(f"{path} is missing; reseed the world (vibeforge sandbox seed)")
        self.audience = Audience.load(path)
        self._followers: dict[int, np.ndarray] = {}
        self._interest_cache: dict[tuple[int, ...], np.ndarray] = {}
        rows = self.store.all(
            "SELECT id, created_ms, author_id, emb FROM posts WHERE scored = 1 AND deleted = 0 "
            "ORDER BY created_ms, id"
        )
        self.index = PostIndex(self.audience.interests.shape[1])
        if rows:
            vecs = np.stack([np.frombuffer(r[3], dtype=np.float32) for r in rows])
            self.index.add([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], vecs)

    def save_clock(self, *, running: bool = True) -> None:
        """Persist the time, and while running the anchor a crash-restart resumes from."""
        self.store.set_meta("clock_ms", self.clock.now_ms())
        # a clean stop drops the anchor: the next start resumes here, not after the downtime
        self.store.set_meta("clock_anchor", self.clock.anchor() if running else None)

    def close(self) -> None:
        if self.audience is not None:
            self.save_clock(running=False)
        for emb in self._embedders.values():
            if isinstance(emb, SentenceEmbedder):
                emb.flush()
        self.store.close()

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def advance(self, seconds: float) -> int:
        now = self.clock.advance(seconds)
        self.save_clock()
        self.flush()
        return now

    def set_speed(self, speed: float) -> None:
        self.clock.set_speed(speed)
        self.speed = speed
        self.save_clock()

    # -- accounts ----------------------------------------------------------------------------
    def followers_mask(self, user_id: int) -> np.ndarray:
        audience = self._require()
        if user_id not in self._followers:
            rows = self.store.all("SELECT member FROM member_follows WHERE user_id = ?", (user_id,))
            mask = np.zeros(len(audience.activity), dtype=bool)
            mask[[r[0] for r in rows]] = True
            self._followers[user_id] = mask
        return self._followers[user_id]

    def create_account(
        self,
        *,
        handle: str,
        niche: str | None = None,
        followers: int = 0,
        follow_niche: bool = True,
        name: str | None = None,
    ) -> tuple[int, str]:
        """A bot account (kind 'bot') that can post; returns (user id, user token)."""
        import secrets

        audience = self._require()
        if niche is not None and niche not in audience.niches:
            raise SandboxError(
                f"niche {niche!r} is not in this world; use one of {audience.niches}"
            )
        if followers < 0:
            raise SandboxError(f"followers ({followers}) must be >= 0")
        with self.lock, self.store.tx() as c:
            if c.execute("SELECT 1 FROM users WHERE username = ?", (handle,)).fetchone():
                raise SandboxError(f"handle @{handle} is taken; choose another")
            uid = int(c.execute("SELECT MAX(id) FROM users").fetchone()[0]) + 1
            c.execute(
                "INSERT INTO users VALUES (?, ?, ?, 'bot', ?, ?, 'a vibeforge bot')",
                (uid, handle, name or handle, niche, self.now_ms()),
            )
            token = f"{uid}-{secrets.token_hex(12)}"
            c.execute("INSERT INTO tokens VALUES (?, 'user', ?)", (token, uid))
            if niche is not None and follow_niche:
                c.execute(
                    "INSERT OR IGNORE INTO follows SELECT ?, user_id FROM list_members "
                    "JOIN lists ON lists.id = list_id WHERE lists.niche = ?",
                    (uid, niche),
                )
            if followers:
                rng = np.random.default_rng([self.seed_value, uid])
                pool = (
                    np.flatnonzero(audience.niche == audience.niches.index(niche))
                    if niche is not None
                    else np.arange(len(audience.activity))
                )
                chosen = rng.choice(pool, size=min(followers, len(pool)), replace=False)
                c.executemany(
                    "INSERT INTO member_follows VALUES (?, ?)", [(int(m), uid) for m in chosen]
                )
        return uid, token

    def username(self, handle: str) -> str | None:
        """The username of an account named by its username or its XRPC handle, or None."""
        return username_of(self.store, handle)

    def user_token(self, handle: str) -> str:
        """An account's user token, by username or XRPC handle (`mybot` or `mybot.test`)."""
        return user_token_of(self.store, handle)

    def role_token(self, role: str) -> str:
        row = self.store.one("SELECT token FROM tokens WHERE role = ?", (role,))
        if row is None:
            raise SandboxError("no sandbox world here yet; seed one (vibeforge sandbox seed)")
        return str(row[0])

    # -- posting -----------------------------------------------------------------------------
    def insert_post(
        self,
        *,
        author_id: int,
        text: str,
        reply_to: int | None = None,
        quote_of: int | None = None,
        made_with_ai: bool = False,
        record: AtRecord | None = None,
        media_ids: Sequence[int] = (),
    ) -> PostRow:
        """A post; with `record` (the XRPC face's), its record key, record and CID too, in the
        same transaction: `RecordExists` when the author already has that key. `media_ids`
        (uploaded images, checked by the caller) are attached in that transaction too."""
        with self.lock:
            now = self.now_ms()
            with self.store.tx() as c:
                post_id = self.mint_post_id(c, now)
                c.execute(
                    "INSERT INTO posts (id, author_id, text, created_ms, reply_to, quote_of, "
                    "made_with_ai) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (post_id, author_id, text, now, reply_to, quote_of, int(made_with_ai)),
                )
                c.executemany(
                    "INSERT INTO x_post_media (post_id, position, media_id) VALUES (?, ?, ?)",
                    [(post_id, i, m) for i, m in enumerate(media_ids)],
                )
                if record is not None:
                    try:
                        c.execute(
                            "INSERT INTO at_records VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (
                                author_id,
                                record.collection,
                                record.rkey or tid(post_id),
                                post_id,
                                record.json,
                                record.cid,
                                now,
                            ),
                        )
                    except sqlite3.IntegrityError:
                        raise RecordExists(
                            f"record {record.collection}/{record.rkey} already exists"
                        ) from None
            self.store.set_meta("clock_ms", now)
            return PostRow(post_id, author_id, text, now, reply_to, quote_of, made_with_ai, False)

    def mint_post_id(self, c: sqlite3.Connection, now_ms: int) -> int:
        """A fresh id for a post or an X repost made now (the caller holds `self.lock` and is
        inside a transaction): a snowflake of the time in the API's half of the sequence space,
        taken by no post and no repost, so ids of both kinds grow with time and never meet."""
        self._api_seq += 1
        post_id = snowflake(now_ms, API_SEQUENCE_BASE + self._api_seq % API_SEQUENCE_BASE)
        while c.execute(
            "SELECT 1 FROM posts WHERE id = ? UNION ALL SELECT 1 FROM x_reposts WHERE id = ?",
            (post_id, post_id),
        ).fetchone():
            post_id += 1
        return post_id

    def recent_duplicate(self, *, author_id: int, text: str) -> bool:
        """X refuses a post identical to one of the author's own recent posts."""
        key = normalise(text)
        rows = self.store.all(
            "SELECT text FROM posts WHERE author_id = ? AND deleted = 0 "
            "AND created_ms > ? ORDER BY id DESC LIMIT 200",
            (author_id, self.now_ms() - 7 * DAY_MS),
        )
        return any(normalise(r[0]) == key for r in rows) if key else False

    def delete_post(self, post_id: int) -> None:
        with self.lock, self.store.tx() as c:
            c.execute("UPDATE posts SET deleted = 1 WHERE id = ?", (post_id,))
            c.execute("DELETE FROM at_records WHERE post_id = ?", (post_id,))
            if self.audience is not None:
                self.index.remove([post_id])

    # -- scoring -----------------------------------------------------------------------------
    def interests_at(self, t_ms: int, trends: list[Trend] | None = None) -> np.ndarray:
        """(M, D) member interests at a platform time: the base plus every trend begun by then."""
        audience = self._require()
        active = [
            t for t in (list_trends(self.store) if trends is None else trends) if t[2] <= t_ms
        ]
        key = tuple(t[0] for t in active)
        if key not in self._interest_cache:
            interests = audience.interests.copy()
            for _, niche, _, strength, direction in active:
                if niche in audience.niches:
                    rows = audience.niche == audience.niches.index(niche)
                    interests[rows] += strength * direction
            norms = np.linalg.norm(interests, axis=1, keepdims=True)
            self._interest_cache[key] = (interests / np.maximum(norms, 1e-9)).astype(np.float32)
        return self._interest_cache[key]

    def _outcomes(
        self,
        *,
        ids: list[int],
        authors: list[int],
        texts: list[str],
        times: list[int],
        vecs: np.ndarray,  # (B, D)
        media: Sequence[bool] | None = None,  # (B,) the post carries an image; None: none do
    ) -> list[tuple[Outcome, dict[str, Any]]]:
        """Engagement of a batch of posts; one (M, D) x (D, B) product per trend period."""
        audience = self._require()
        t = np.asarray(times, dtype=np.int64)
        max_sim = self.index.earlier_max_similarity(vecs, t)
        window = int(self.params.fatigue_window_h * HOUR_MS)
        recent = self.index.recent_counts(np.asarray(authors, dtype=np.int64), t, window)
        trends = list_trends(self.store)
        periods: dict[tuple[int, ...], list[int]] = {}
        for j, tj in enumerate(times):
            periods.setdefault(tuple(x[0] for x in trends if x[2] <= tj), []).append(j)
        sims = np.zeros((len(audience.activity), len(ids)), dtype=np.float32)  # (M, B)
        for cols in periods.values():
            sims[:, cols] = self.interests_at(times[cols[0]], trends) @ vecs[cols].T
        results = []
        for j in range(len(ids)):
            factors = PostFactors(
                style=style(texts[j]),
                duplicate=bool(max_sim[j] >= self.params.duplicate_threshold),
                recent_by_author=int(recent[j]),
                media=bool(media[j]) if media is not None else False,
            )
            out = engage(
                params=self.params,
                similarity=sims[:, j],
                calibration=audience.calibration,
                activity=audience.activity,
                followers=self.followers_mask(authors[j]),
                factors=factors,
                rng=post_rng(self.seed_value, ids[j]),
            )
            info = {
                "max_similarity_to_earlier": round(float(max_sim[j]), 4),
                "duplicate": factors.duplicate,
                "recent_by_author": factors.recent_by_author,
                "spam": factors.style.spam,
                "toxic": factors.style.toxic,
                "question": factors.style.question,
                "affinity_mean": round(out.affinity_mean, 4),
                "reach_multiplier": round(out.reach, 4),
                "rate_multiplier": round(out.rate, 4),
            }
            if factors.media:  # only then: the truth of a post without media is unchanged
                info["media"] = True
            results.append((out, info))
        return results

    def flush(self, *, batch: int = 256) -> int:
        """Score every unscored post (creation order, in batches); returns how many."""
        with self.lock:
            if self.audience is None:
                return 0
            rows = self.store.all(
                "SELECT id, author_id, text, created_ms, emb FROM posts "
                "WHERE scored = 0 AND deleted = 0 ORDER BY created_ms, id"
            )
            if not rows:
                return 0
            missing = [r for r in rows if r[4] is None]
            fresh: dict[int, np.ndarray] = {}
            if missing:
                vectors = self.embedder().encode([r[2] for r in missing])
                fresh = {r[0]: v for r, v in zip(missing, vectors, strict=True)}
            for start in range(0, len(rows), batch):
                chunk = rows[start : start + batch]
                ids = [r[0] for r in chunk]
                vecs = np.stack(
                    [
                        fresh[r[0]] if r[4] is None else np.frombuffer(r[4], np.float32)
                        for r in chunk
                    ]
                ).astype(np.float32)
                authors, times = [r[1] for r in chunk], [r[3] for r in chunk]
                # indexed first: later posts of the batch see the earlier ones (strictly earlier)
                self.index.add(ids, times, authors, vecs)
                with_media = posts_with_media(self.store, ids)  # X media or a Bluesky embed
                scored = self._outcomes(
                    ids=ids,
                    authors=authors,
                    texts=[r[2] for r in chunk],
                    times=times,
                    vecs=vecs,
                    media=[i in with_media for i in ids],
                )
                with self.store.tx() as c:
                    for pid, vec, (out, info) in zip(ids, vecs, scored, strict=True):
                        final = [int(x) for x in out.final]
                        expected = {
                            k: round(float(v), 4)
                            for k, v in zip(COLUMNS, out.expected, strict=True)
                        }
                        c.execute(
                            "INSERT OR REPLACE INTO truth VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (
                                pid,
                                json.dumps(dict(zip(COLUMNS, final, strict=True))),
                                json.dumps(expected),
                                json.dumps(info),
                                *final[:6],
                            ),
                        )
                        c.execute(
                            "UPDATE posts SET scored = 1, emb = ? WHERE id = ?",
                            (vec.tobytes(), pid),
                        )
            return len(rows)

    def metrics(
        self, post_ids: list[int], *, now_ms: int | None = None
    ) -> dict[int, dict[str, int]]:
        """Counts the API shows now: {id: {impressions, like, repost, reply, quote, bookmark}}."""
        if not post_ids:
            return {}
        now = self.now_ms() if now_ms is None else now_ms
        marks = ",".join("?" * len(post_ids))
        rows = self.store.all(
            f"SELECT p.id, p.created_ms, p.scored, t.impressions, t.likes, t.reposts, t.replies, "
            f"t.quotes, t.bookmarks FROM posts p LEFT JOIN truth t ON t.post_id = p.id "
            f"WHERE p.id IN ({marks})",
            post_ids,
        )
        if any(not r[2] and r[1] < now for r in rows):
            self.flush()
            return self.metrics(post_ids, now_ms=now)
        if not rows:
            return {}
        finals = np.array([[x or 0 for x in r[3:9]] for r in rows], dtype=np.int64)  # (N, 6)
        ages = np.array([now - r[1] for r in rows], dtype=np.int64)
        counts = accrued(finals, age_ms=ages, accrual_hours=self.params.accrual_hours).tolist()
        return {
            r[0]: dict(zip(COLUMNS[:6], c, strict=True)) for r, c in zip(rows, counts, strict=True)
        }

    def truth(self, post_id: int) -> dict[str, Any] | None:
        self.flush()
        row = self.store.one(
            "SELECT final, expected, info FROM truth WHERE post_id = ?", (post_id,)
        )
        if row is None:
            return None
        return {
            "post_id": str(post_id),
            "final": json.loads(row[0]),
            "expected": json.loads(row[1]),
            "factors": json.loads(row[2]),
        }

    def evaluate(
        self,
        *,
        texts: list[str],
        author_id: int,
        at_ms: int | None = None,
        has_media: bool = False,
    ) -> list[dict[str, Any]]:
        """Expected engagement of hypothetical posts, each with an image when `has_media`
        (nothing is written)."""
        at = self.now_ms() if at_ms is None else at_ms
        self.flush()
        scored = self._outcomes(
            ids=[snowflake(at, i) for i in range(len(texts))],
            authors=[author_id] * len(texts),
            texts=texts,
            times=[at] * len(texts),
            vecs=self.embedder().encode(texts),
            media=[has_media] * len(texts),
        )
        return [
            {
                "text": text,
                "factors": info,
                "expected": {
                    k: round(float(v), 4) for k, v in zip(COLUMNS, out.expected, strict=True)
                },
            }
            for text, (out, info) in zip(texts, scored, strict=True)
        ]

    def add_trend(
        self, *, niche: str, text: str, at_ms: int, strength: float = 1.0
    ) -> dict[str, Any]:
        """Move a niche's interests toward `text` from `at_ms` on, and its humans' later posts
        too (see trends.py)."""
        check_trend(niches=self._require().niches, niche=niche, strength=strength)
        with self.lock:
            if at_ms < self.now_ms():
                raise SandboxError("a trend cannot start in the past; give a time >= the clock")
            pool = niche_tweets(niche, limit=max(self.spec.tweets_per_niche * 3, 300))
            embedder = self.embedder()
            direction = trend_direction(pool, text, embedder=embedder)
            trend_id = record_trend(
                self.store,
                niche=niche,
                text=text,
                at_ms=at_ms,
                strength=strength,
                direction=direction,
            )
            later = resample_humans(
                self.store,
                niche=niche,
                at_ms=at_ms,
                pool=pool,
                direction=direction,
                embedder=embedder,
                seed=self.seed_value,
                trend_id=trend_id,
            )
            if later:
                self.index.remove(later)
            self.flush()
            return {
                "id": trend_id,
                "niche": niche,
                "text": text,
                "at_ms": at_ms,
                "strength": strength,
                "resampled_posts": len(later),
            }
