"""Who reacted to a post: the audience members behind its realised like and repost counts, and
the likes and reposts accounts make through the API.

The engine stores counts only. A post's reactors are drawn again, deterministically, from the
same inputs and the same seeded generator that drew its counts (`model.reactors`): the post's
embedding and time (the interests then), its author's followers, and the factors stored with
its truth (near-duplicate, the author's recent posts), and the trends that existed when it was
scored (found by which set reproduces every stored count). So the members listed are the ones
the counts count. Should floating point put a member on the other side of a draw (the
similarity is an einsum here, one column of a batch product when scored: they may differ in
the last bits), the list is trimmed, or topped up with the likeliest members who saw the post,
to the stored count; `check(post_id)` tells how exact a replay was.

Reactions arrive along the accrual curve the counts follow: the i-th of n (in an order drawn
per post and kind) at the age where floor(n (1 - exp(-t/τ))) reaches i + 1, so the members
listed at any time are as many as the count shown, and an earlier list is a prefix of a later one.

Account reactions live in this module's own table of the sandbox database (`x_reactions`);
a reseeded world (whose meta is wiped) starts it empty. An account's repost is also a post of
its own on the X face (reposts.py), written and erased with its reaction row.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from vibeforge.sandbox import reposts
from vibeforge.sandbox.engine import World
from vibeforge.sandbox.model import KINDS, PostFactors, Reactors, accrued, post_rng, reactors
from vibeforge.sandbox.text import style
from vibeforge.sandbox.trends import list_trends

MEMBER_ID_BASE = 10**12  # audience member m is user 10**12 + m (accounts have small ids)
REACTION_KINDS = ("like", "repost")
_SALT = {"like": 101, "repost": 102}  # each kind's arrival order is its own draw
_CACHE_POSTS = 4096
_TABLE = """
CREATE TABLE IF NOT EXISTS x_reactions (
    user_id INTEGER NOT NULL, post_id INTEGER NOT NULL, kind TEXT NOT NULL,
    created_ms INTEGER NOT NULL, PRIMARY KEY (user_id, post_id, kind));
CREATE INDEX IF NOT EXISTS x_reactions_post ON x_reactions (post_id, kind, created_ms);
"""
_META_KEY = "x_reactions_table"


def member_user_id(member: int) -> int:
    return MEMBER_ID_BASE + member


def member_of(user_id: int) -> int | None:
    """The audience member behind a user id, or None for an account's id."""
    return user_id - MEMBER_ID_BASE if user_id >= MEMBER_ID_BASE else None


@dataclass(frozen=True, slots=True)
class Reaction:
    user_id: int  # an account's id, or member_user_id(m)
    at_ms: int


def order_key(r: Reaction) -> tuple[int, bool, int]:
    """Time order of reactions; at the same millisecond an account's comes after the
    audience's (whose times are rounded onto the accrual curve)."""
    return r.at_ms, member_of(r.user_id) is None, r.user_id


class Reactions:
    """Reactors of posts in one world; thread-safe, cached per post."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[Any, ...], dict[str, np.ndarray]] = OrderedDict()
        # the world (its audience object: a reseed makes a new one) whose table was checked,
        # and whether that table holds any row: most worlds have no account reactions, and
        # every post lookup asks for their counts
        self._checked: int | None = None
        self._any = False

    # -- the audience ------------------------------------------------------------------------
    def _row(self, post_id: int) -> tuple[tuple[Any, ...], Any] | None:
        """(cache key, row) of a scored post: what its draw depends on."""
        world = self.world
        sql = (
            "SELECT p.author_id, p.text, p.created_ms, p.emb, t.info, t.likes, t.reposts, "
            "t.impressions, t.replies, t.quotes, t.bookmarks "
            "FROM posts p JOIN truth t ON t.post_id = p.id WHERE p.id = ? AND p.scored = 1"
        )
        row = world.store.one(sql, (post_id,))
        if row is None and world.store.one(
            "SELECT 1 FROM posts WHERE id = ? AND scored = 0 AND deleted = 0", (post_id,)
        ):
            world.flush()  # scored lazily, as the engine's metrics are
            row = world.store.one(sql, (post_id,))
        if row is None or world.audience is None or row[3] is None:
            return None
        return (id(world.audience), world.seed_value, post_id, row[2], *row[5:11]), row

    def _replay(self, post_id: int, row: Any) -> Reactors:
        """The post's realised draw, again (see the module docstring).

        The interests it was scored against are those of the trends begun by its time that
        existed when it was scored: a trend added later leaves earlier-scored posts alone (only
        its own niche's later human posts are rescored). Which trends existed is not stored, so
        the candidates, newest trend dropped first, are tried until one reproduces every stored
        count (views and each kind); none that does means the current ones."""
        world = self.world
        audience = world.audience
        assert audience is not None
        info = json.loads(row[4])
        vec = np.frombuffer(row[3], np.float32)
        created = int(row[2])
        stored = (row[7], row[5], row[6], row[8], row[9], row[10])  # impressions, like, ...
        begun = [t for t in list_trends(world.store) if t[2] <= created]
        candidates = [begun]  # in the engine's order: the sum's rounding depends on it
        while candidates[-1]:  # drop the most recently added trend, one at a time
            newest = max(t[0] for t in candidates[-1])
            candidates.append([t for t in candidates[-1] if t[0] != newest])
        first: Reactors | None = None
        for trends in candidates:
            drawn = reactors(
                params=world.params,
                # (M,): einsum, not BLAS: a multithreaded gemv on a busy machine costs
                # milliseconds per post; the sums differ from the scoring product's in the last
                # bits at most (see the module docstring)
                similarity=np.einsum("md,d->m", world.interests_at(created, trends), vec),
                calibration=audience.calibration,
                activity=audience.activity,
                followers=world.followers_mask(int(row[0])),
                factors=PostFactors(
                    style=style(row[1]),
                    duplicate=bool(info["duplicate"]),
                    recent_by_author=int(info["recent_by_author"]),
                    media=bool(info.get("media", False)),
                ),
                rng=post_rng(world.seed_value, post_id),
            )
            counts = (drawn.seen.size, *(drawn.reacted[k].size for k in KINDS))
            if counts == stored:
                return drawn
            first = first or drawn
        assert first is not None
        return first

    def _ordered(self, post_id: int) -> dict[str, np.ndarray]:
        """kind -> the members who react, in the order they do (cached per post)."""
        found = self._row(post_id)
        if found is None:
            return {}
        key, row = found
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        drawn = self._replay(post_id, row)
        seed = self.world.seed_value & 0xFFFFFFFF
        out: dict[str, np.ndarray] = {}
        for kind, count in zip(REACTION_KINDS, (int(row[5]), int(row[6])), strict=True):
            members = _to_count(drawn.reacted[kind], drawn.seen, drawn.chance[kind], count)
            rng = np.random.default_rng([seed, post_id >> 32, post_id & 0xFFFFFFFF, _SALT[kind]])
            out[kind] = members[rng.permutation(members.size)]
        with self._lock:
            self._cache[key] = out
            while len(self._cache) > _CACHE_POSTS:
                self._cache.popitem(last=False)
        return out

    def audience(self, post_id: int, kind: str, *, created_ms: int, now_ms: int) -> list[Reaction]:
        """The members who reacted by `now_ms`, oldest first: exactly as many as the count the
        API shows then (`model.accrued` of the stored final count)."""
        members = self._ordered(post_id).get(kind)
        if members is None or not members.size:
            return []
        age = max(now_ms - created_ms, 0)
        shown = accrued(
            np.array([members.size]), age_ms=age, accrual_hours=self.world.params.accrual_hours
        )
        visible = int(shown[0])
        ages = _arrival_ages(members.size, self.world.params.accrual_hours)[:visible]
        return [
            Reaction(member_user_id(int(m)), created_ms + min(int(a), age))
            for m, a in zip(members[:visible], ages, strict=True)
        ]

    def check(self, post_id: int) -> dict[str, tuple[int, int]]:
        """kind -> (members the replayed draw found, the stored final count), before trimming
        or topping up: how exactly the scoring draw was replayed."""
        found = self._row(post_id)
        if found is None:
            return {}
        _, row = found
        drawn = self._replay(post_id, row)
        return {
            kind: (int(drawn.reacted[kind].size), int(count))
            for kind, count in zip(REACTION_KINDS, (row[5], row[6]), strict=True)
        }

    # -- accounts ----------------------------------------------------------------------------
    def _table(self) -> bool:
        """Make sure this world's table exists (emptied by a reseed); whether it has rows."""
        store = self.world.store
        with store.lock:
            if self._checked == id(self.world.audience):
                return self._any
            if store.get_meta(_META_KEY) is None:  # a fresh or reseeded world
                store.conn.executescript(_TABLE)
                store.conn.execute("DELETE FROM x_reactions")
                store.set_meta(_META_KEY, 1)
            self._any = store.one("SELECT 1 FROM x_reactions LIMIT 1") is not None
            self._checked = id(self.world.audience)
            return self._any

    def add(self, *, user_id: int, post_id: int, kind: str) -> int | None:
        """Record an account's like or repost; a repost is a post of its own on the X face
        too (reposts.py), written in the same transaction: returns its id (None for a like)."""
        self._table()
        world, store = self.world, self.world.store
        if kind != "repost":
            with store.lock:
                store.conn.execute(
                    "INSERT OR IGNORE INTO x_reactions VALUES (?, ?, ?, ?)",
                    (user_id, post_id, kind, world.now_ms()),
                )
                self._any = True
            return None
        with world.lock, store.tx() as c:  # the world's lock first, as insert_post takes them
            now = world.now_ms()
            c.execute(
                "INSERT OR IGNORE INTO x_reactions VALUES (?, ?, ?, ?)",
                (user_id, post_id, kind, now),
            )
            repost_id = reposts.record(world, c, user_id=user_id, post_id=post_id, at_ms=now)
            self._any = True
        return repost_id

    def remove(self, *, user_id: int, post_id: int, kind: str) -> None:
        """Undo an account's like or repost (the repost's post with it)."""
        self._table()
        with self.world.store.tx() as c:
            c.execute(
                "DELETE FROM x_reactions WHERE user_id = ? AND post_id = ? AND kind = ?",
                (user_id, post_id, kind),
            )
            if kind == "repost":
                reposts.erase(c, user_id=user_id, post_id=post_id)

    def accounts(self, post_id: int, kind: str, *, now_ms: int) -> list[Reaction]:
        """Accounts' reactions by `now_ms`, oldest first."""
        if not self._table():
            return []
        rows = self.world.store.all(
            "SELECT user_id, created_ms FROM x_reactions WHERE post_id = ? AND kind = ? "
            "AND created_ms <= ? ORDER BY created_ms, user_id",
            (post_id, kind, now_ms),
        )
        return [Reaction(int(r[0]), int(r[1])) for r in rows]

    def account_counts(self, post_ids: list[int]) -> dict[int, dict[str, int]]:
        """{post id: {kind: accounts' reactions}} for the posts that have any."""
        if not post_ids or not self._table():
            return {}
        marks = ",".join("?" * len(post_ids))
        rows = self.world.store.all(
            f"SELECT post_id, kind, COUNT(*) FROM x_reactions WHERE post_id IN ({marks}) "
            "GROUP BY post_id, kind",
            post_ids,
        )
        out: dict[int, dict[str, int]] = {}
        for post_id, kind, n in rows:
            out.setdefault(int(post_id), {})[str(kind)] = int(n)
        return out

    def liked_by(self, user_id: int, *, now_ms: int) -> list[Reaction]:
        """The posts an account liked (Reaction.user_id holds the post id), newest first."""
        if not self._table():
            return []
        rows = self.world.store.all(
            "SELECT post_id, created_ms FROM x_reactions WHERE user_id = ? AND kind = 'like' "
            "AND created_ms <= ? ORDER BY created_ms DESC, post_id DESC",
            (user_id, now_ms),
        )
        return [Reaction(int(r[0]), int(r[1])) for r in rows]

    def everyone(self, post_id: int, kind: str) -> list[Reaction]:
        """Members and accounts who reacted by now, newest first."""
        world = self.world
        now = world.now_ms()
        row = world.store.one(
            "SELECT created_ms FROM posts WHERE id = ? AND deleted = 0 AND created_ms <= ?",
            (post_id, now),
        )
        if row is None:
            return []
        both = self.audience(post_id, kind, created_ms=int(row[0]), now_ms=now)
        both += self.accounts(post_id, kind, now_ms=now)
        both.sort(key=order_key, reverse=True)
        return both


def _to_count(reacted: np.ndarray, seen: np.ndarray, chance: np.ndarray, count: int) -> np.ndarray:
    """`reacted` trimmed or topped up to `count` members (see the module docstring)."""
    if reacted.size >= count:
        keep = np.sort(np.argsort(-chance[reacted], kind="stable")[:count])
        return reacted[keep]
    others = np.setdiff1d(seen, reacted, assume_unique=True)
    if others.size < count - reacted.size:  # not even the viewers suffice: anyone likeliest
        others = np.setdiff1d(np.arange(chance.size), reacted, assume_unique=True)
    extra = others[np.argsort(-chance[others], kind="stable")[: count - reacted.size]]
    return np.sort(np.concatenate([reacted, extra]))


def _arrival_ages(count: int, accrual_hours: float) -> np.ndarray:
    """(count,) ages in ms at which the shown count reaches 1, 2, ..., count (int64)."""
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    share = np.arange(1, count + 1, dtype=np.float64) / count
    tau_ms = accrual_hours * 3_600_000
    with np.errstate(divide="ignore"):
        ages = -tau_ms * np.log1p(-share)  # the last is never quite reached: inf, capped
    return np.minimum(np.ceil(ages), 2**62).astype(np.int64)
