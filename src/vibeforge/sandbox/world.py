"""Worlds: niches of human accounts posting real tweets over platform time, an audience of
members with interest vectors and activity rates, and the follower graph between them.

`build_world` writes everything into the sandbox store (accounts, lists, scheduled posts,
member follows) and returns the `Audience` arrays, which are also saved beside the database.
The same (spec, seed) always yields the same world.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vibeforge.embedding import Embedder
from vibeforge.sandbox.corpus import NICHES, niche_tweets
from vibeforge.sandbox.ids import snowflake
from vibeforge.sandbox.store import SandboxStore

WORLD_START_MS = 1_767_571_200_000  # 2026-01-05T00:00:00Z: platform time when a world is seeded
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
SYSTEM_USER_ID = 1_000_000


@dataclass(frozen=True, kw_only=True)
class WorldSpec:
    name: str
    niches: tuple[str, ...]
    tweets_per_niche: int = 300  # corpus tweets each niche's humans post over the world's span
    humans_per_niche: int = 10
    members_per_niche: int = 5000
    history_days: float = 3.0  # posts already visible when the world starts
    horizon_days: float = 14.0  # posts scheduled after the start
    generalist_share: float = 0.1  # members with a second niche of interest
    embedder: str = "minilm"

    def __post_init__(self) -> None:
        # overrides arrive as JSON from the admin API: check types and upper bounds too, so a
        # float count or 1e300 members is refused instead of failing (or filling memory) later
        for name, kind in _FIELD_TYPES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, kind):
                raise ValueError(f"{name} ({value!r}) must be {_KIND_WORDS[kind]}")
        for name, hi in _UPPER.items():
            value = getattr(self, name)
            if not value <= hi:  # also false for NaN
                raise ValueError(f"{name} ({value}) must be <= {hi:g}")
        if not all(isinstance(n, str) for n in self.niches):
            raise ValueError(f"niches {self.niches!r} must be niche names")
        unknown = [n for n in self.niches if n not in NICHES]
        if unknown or not self.niches:
            raise ValueError(f"niches {unknown or '()'} invalid; choose from {', '.join(NICHES)}")
        if len(set(self.niches)) != len(self.niches):
            raise ValueError(f"niches {self.niches} repeat a niche; list each once")
        for name, low in (
            ("tweets_per_niche", 10),
            ("humans_per_niche", 1),
            ("members_per_niche", 10),
        ):
            if getattr(self, name) < low:
                raise ValueError(f"{name} ({getattr(self, name)}) must be >= {low}")
        if self.history_days < 0 or self.horizon_days <= 0:
            raise ValueError("history_days must be >= 0 and horizon_days > 0 (e.g. 3 and 14)")
        if not 0 <= self.generalist_share <= 1:
            raise ValueError(f"generalist_share ({self.generalist_share}) must be in [0, 1]")

    def to_dict(self) -> dict:
        return asdict(self)


_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "tweets_per_niche": int,
    "humans_per_niche": int,
    "members_per_niche": int,
    "history_days": (int, float),
    "horizon_days": (int, float),
    "generalist_share": (int, float),
    "embedder": str,
}
_KIND_WORDS = {str: "a string", int: "an integer", (int, float): "a number"}
_UPPER = {  # far above any world that fits this machine's memory and an hour of seeding
    "tweets_per_niche": 100_000,
    "humans_per_niche": 10_000,
    "members_per_niche": 1_000_000,
    "history_days": 3650.0,
    "horizon_days": 3650.0,
}

WORLDS: dict[str, WorldSpec] = {
    "demo": WorldSpec(name="demo", niches=("airlines", "apple", "self_driving")),
    "wide": WorldSpec(
        name="wide",
        niches=NICHES,
        tweets_per_niche=600,
        members_per_niche=5000,
    ),
    "tiny": WorldSpec(
        name="tiny",
        niches=("airlines", "apple"),
        tweets_per_niche=150,
        humans_per_niche=4,
        members_per_niche=1500,
        embedder="hashing",
    ),
}


def world_spec(name: str, **overrides: object) -> WorldSpec:
    if name not in WORLDS:
        raise ValueError(f"unknown world {name!r}; choose from {', '.join(WORLDS)}")
    data: dict[str, Any] = {**WORLDS[name].to_dict(), **overrides}
    if not isinstance(data["niches"], list | tuple):
        raise ValueError(f"niches ({data['niches']!r}) must be a list of niche names")
    data["niches"] = tuple(data["niches"])
    try:
        return WorldSpec(**data)
    except TypeError as exc:  # an unknown field name
        raise ValueError(
            f"{exc}; world fields are {', '.join(WorldSpec.__dataclass_fields__)}"
        ) from None


@dataclass
class Audience:
    interests: np.ndarray  # (M, D) float32, unit rows: interests before any trend
    activity: np.ndarray  # (M,) float32 in (0, 1): share of posts a member is around for
    niche: np.ndarray  # (M,) int16: index into niches of the member's home niche
    niches: tuple[str, ...]
    calibration: tuple[float, float]  # (μ, σ) of member-post similarity

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            interests=self.interests,
            activity=self.activity,
            niche=self.niche,
            niches=np.array(self.niches),
            calibration=np.array(self.calibration),
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Audience:
        with np.load(path) as d:
            return cls(
                interests=d["interests"],
                activity=d["activity"],
                niche=d["niche"],
                niches=tuple(d["niches"].tolist()),
                calibration=(float(d["calibration"][0]), float(d["calibration"][1])),
            )


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)).astype(np.float32)


def _handle(niche: str, i: int, rng: np.random.Generator) -> str:
    words = ("fan", "watch", "talk", "daily", "notes", "news", "geek", "life", "buzz", "take")
    return f"{niche.replace('_', '')}_{words[int(rng.integers(len(words)))]}{i}"


def build_world(
    *, store: SandboxStore, spec: WorldSpec, seed: int, embedder: Embedder, audience_path: Path
) -> Audience:
    """Wipe the store and seed a world; returns the audience (also saved to audience_path)."""
    rng = np.random.default_rng(seed)
    store.wipe()
    corpus = {n: niche_tweets(n, limit=spec.tweets_per_niche) for n in spec.niches}
    vectors = {n: embedder.encode(texts) for n, texts in corpus.items()}
    centroids = {n: _unit(v.mean(axis=0)) for n, v in vectors.items()}

    with store.tx() as c:
        c.execute(
            "INSERT INTO users VALUES (?, 'sandbox', 'Sandbox', 'system', NULL, ?, '')",
            (SYSTEM_USER_ID, WORLD_START_MS),
        )
        for role in ("app", "admin"):
            c.execute(
                "INSERT INTO tokens VALUES (?, ?, NULL)", (f"{role}-{secrets.token_hex(16)}", role)
            )
        humans: dict[str, list[int]] = {}
        uid = SYSTEM_USER_ID + 1
        for list_index, niche in enumerate(spec.niches):
            humans[niche] = []
            list_id = 1_500_000 + list_index
            c.execute(
                "INSERT INTO lists VALUES (?, ?, ?, ?)", (list_id, niche, SYSTEM_USER_ID, niche)
            )
            for i in range(spec.humans_per_niche):
                c.execute(
                    "INSERT INTO users VALUES (?, ?, ?, 'human', ?, ?, ?)",
                    (
                        uid,
                        _handle(niche, i, rng),
                        f"{niche.replace('_', ' ').title()} person {i}",
                        niche,
                        WORLD_START_MS - 30 * DAY_MS,
                        f"posts about {niche}",
                    ),
                )
                c.execute(
                    "INSERT INTO tokens VALUES (?, 'user', ?)",
                    (f"{uid}-{secrets.token_hex(12)}", uid),
                )
                c.execute("INSERT INTO list_members VALUES (?, ?)", (list_id, uid))
                humans[niche].append(uid)
                uid += 1

        # audience: interests near the niche centroid, pulled toward one of its tweets
        rows, niche_idx, activity = [], [], []
        member = 0
        follow_rows: list[tuple[int, int]] = []
        for n_i, niche in enumerate(spec.niches):
            m = spec.members_per_niche
            anchor = vectors[niche][rng.integers(len(corpus[niche]), size=m)]
            noise = rng.normal(0, 1 / np.sqrt(vectors[niche].shape[1]), size=anchor.shape)
            interest = 0.6 * centroids[niche] + 0.4 * anchor + 0.3 * noise
            general = rng.random(m) < spec.generalist_share
            if len(spec.niches) > 1 and general.any():
                other = rng.choice([x for x in spec.niches if x != niche], size=int(general.sum()))
                interest[general] += 0.5 * np.stack([centroids[o] for o in other])
            rows.append(_unit(interest))
            niche_idx.append(np.full(m, n_i, dtype=np.int16))
            activity.append(rng.beta(2, 5, size=m).astype(np.float32))
            # follows: 1 + Poisson(2) of the niche's humans, popular ones more likely
            weights = 1 / np.arange(1, len(humans[niche]) + 1) ** 0.8
            weights /= weights.sum()
            for _ in range(m):
                k = min(len(humans[niche]), 1 + int(rng.poisson(2)))
                for h in rng.choice(len(humans[niche]), size=k, replace=False, p=weights):
                    follow_rows.append((member, humans[niche][int(h)]))
                if len(spec.niches) > 1 and rng.random() < 0.15:
                    elsewhere = spec.niches[int(rng.integers(len(spec.niches)))]
                    pick = int(rng.integers(len(humans[elsewhere])))
                    follow_rows.append((member, humans[elsewhere][pick]))
                member += 1
        c.executemany("INSERT OR IGNORE INTO member_follows VALUES (?, ?)", follow_rows)

        # schedule: each niche's tweets spread over [start − history, start + horizon]
        post_rows = []
        lo = WORLD_START_MS - int(spec.history_days * DAY_MS)
        hi = WORLD_START_MS + int(spec.horizon_days * DAY_MS)
        for niche in spec.niches:
            times = np.sort(rng.integers(lo, hi, size=len(corpus[niche])))
            weights = 1 / np.arange(1, len(humans[niche]) + 1) ** 0.5
            authors = rng.choice(humans[niche], size=len(times), p=weights / weights.sum())
            for t, a, text, vec in zip(times, authors, corpus[niche], vectors[niche], strict=True):
                post_rows.append((int(t), int(a), text, niche, vec.astype(np.float32).tobytes()))
        post_rows.sort(key=lambda r: r[0])
        c.executemany(
            "INSERT INTO posts (id, author_id, text, created_ms, niche, emb) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (snowflake(t, i), a, text, t, niche, emb)
                for i, (t, a, text, niche, emb) in enumerate(post_rows)
            ],
        )

    interests = np.concatenate(rows)
    sample_m = rng.choice(len(interests), size=min(2000, len(interests)), replace=False)
    all_vectors = np.concatenate(list(vectors.values()))
    sample_p = rng.choice(len(all_vectors), size=min(2000, len(all_vectors)), replace=False)
    sims = interests[sample_m] @ all_vectors[sample_p].T
    audience = Audience(
        interests=interests,
        activity=np.concatenate(activity),
        niche=np.concatenate(niche_idx),
        niches=spec.niches,
        calibration=(float(sims.mean()), float(sims.std() + 1e-6)),
    )
    audience.save(audience_path)
    store.set_meta("world", spec.to_dict())
    store.set_meta("seed", seed)
    store.set_meta("clock_ms", WORLD_START_MS)
    return audience
