"""Bots grouped into subsets by the embeddings of their recent outputs.

    profile   each bot's newest guard-passing outputs, embedded (L2-normalised) and averaged:
              its centroid says where the bot stands in the embedding space
    cluster   agglomerative, average linkage on cosine distance: start with one subset per bot
              and merge the closest pair until `k` subsets remain, or (no k) while the closest
              pair is within `distance_threshold`
    name      a subset keeps the name of the existing elder sharing most of its bots, so an
              elder retrains under its name as its niche drifts; new subsets get `elder-<niches>`

The plan says why: the distance of every merge, each subset's spread and its nearest neighbour.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Engine

from vibeforge.distill.config import DistillConfig
from vibeforge.distill.outputs import bot_outputs, niche_of
from vibeforge.domain import Bot, BotStatus, Elder
from vibeforge.embedding import Embedder
from vibeforge.store import queries as q
from vibeforge.store import session_scope


@dataclass(frozen=True, slots=True, kw_only=True)
class BotProfile:
    bot: str
    niche: str
    texts: tuple[str, ...]  # the recent outputs the centroid is made of
    centroid: np.ndarray = field(repr=False)  # (D,) unit vector


@dataclass(frozen=True, slots=True, kw_only=True)
class Subset:
    name: str
    bots: tuple[str, ...]
    niches: tuple[str, ...]
    centroid: np.ndarray = field(repr=False)
    spread: float  # largest cosine distance of a member to the subset's centroid
    nearest: tuple[str, float] | None  # the closest other subset and its linkage distance
    reasons: tuple[str, ...]
    elder: str | None = None  # the existing elder this subset continues, if any


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    method: str
    subsets: tuple[Subset, ...]
    left_out: dict[str, str]  # bot -> why it is in no subset
    profiles: dict[str, BotProfile] = field(repr=False)

    def subset(self, name: str) -> Subset:
        for s in self.subsets:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.subsets) or "none"
        from vibeforge.errors import NotFoundError

        raise NotFoundError(f"no subset named {name!r} in the plan (subsets: {known})")

    def as_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "subsets": [
                {
                    "name": s.name,
                    "bots": list(s.bots),
                    "niches": list(s.niches),
                    "spread": round(s.spread, 4),
                    "nearest": {"subset": s.nearest[0], "distance": round(s.nearest[1], 4)}
                    if s.nearest
                    else None,
                    "elder": s.elder,
                    "reasons": list(s.reasons),
                }
                for s in self.subsets
            ],
            "left_out": self.left_out,
        }


def unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norm, 1e-9)).astype(np.float32)


def centroid(vectors: np.ndarray) -> np.ndarray:
    return unit(np.asarray(vectors, dtype=np.float32).mean(axis=0))


def cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(1.0 - np.clip(unit(a) @ unit(b), -1.0, 1.0))


def profile_bots(
    engine: Engine,
    *,
    embedder: Embedder,
    config: DistillConfig,
    bots: Sequence[Bot] | None = None,
) -> tuple[list[BotProfile], dict[str, str]]:
    """Profiles of bots with enough recent outputs, and why the others have none."""
    with session_scope(engine) as s:
        if bots is None:
            bots = q.list_bots(s, status=BotStatus.ACTIVE)
        outputs = {b.name: bot_outputs(s, bot=b, limit=config.recent_outputs) for b in bots}
    profiles, left_out = [], {}
    for bot in bots:
        texts = [o.text for o in outputs[bot.name]]
        if len(texts) < config.min_outputs:
            left_out[bot.name] = (
                f"{len(texts)} guard-passing outputs < min_outputs {config.min_outputs}; "
                "let it run a few rounds, or pass --sample N to `distill run`"
            )
            continue
        profiles.append(
            BotProfile(
                bot=bot.name,
                niche=niche_of(bot),
                texts=tuple(texts),
                centroid=centroid(embedder.encode(texts)),
            )
        )
    return profiles, left_out


def agglomerate(
    centroids: np.ndarray, *, k: int | None, threshold: float
) -> tuple[list[list[int]], list[tuple[list[int], list[int], float]]]:
    """Average-linkage clustering on cosine distance: (clusters of row indices, merges)."""
    n = len(centroids)
    x = unit(centroids)
    dist = np.clip(1.0 - x @ x.T, 0.0, 2.0)
    clusters: list[list[int]] = [[i] for i in range(n)]
    merges: list[tuple[list[int], list[int], float]] = []

    def linkage(a: list[int], b: list[int]) -> float:
        return float(dist[np.ix_(a, b)].mean())

    while len(clusters) > 1:
        pairs = [
            (linkage(clusters[i], clusters[j]), i, j)
            for i in range(len(clusters))
            for j in range(i + 1, len(clusters))
        ]
        d, i, j = min(pairs)
        if k is not None and len(clusters) <= k:
            break
        if k is None and d > threshold:
            break
        merges.append((clusters[i], clusters[j], d))
        clusters[i] = sorted(clusters[i] + clusters[j])
        del clusters[j]
    return clusters, merges


def subset_name(niches: Sequence[str], taken: set[str]) -> str:
    stem = "elder-" + "-".join(sorted(set(niches)))
    stem = re.sub(r"[^a-z0-9_-]+", "-", stem.lower())[:56].rstrip("-_")
    name, i = stem, 2
    while name in taken:
        name, i = f"{stem}-{i}", i + 1
    return name


def _match_elders(groups: list[tuple[str, ...]], elders: Sequence[Elder]) -> list[str | None]:
    """Each group's elder: the one sharing most bots (Jaccard), each elder used once."""
    scored = []
    for gi, group in enumerate(groups):
        for e in elders:
            inter = len(set(group) & set(e.bots))
            if inter:
                scored.append((inter / len(set(group) | set(e.bots)), gi, e.name))
    chosen: list[str | None] = [None] * len(groups)
    used: set[str] = set()
    for _, gi, name in sorted(scored, reverse=True):
        if chosen[gi] is None and name not in used:
            chosen[gi] = name
            used.add(name)
    return chosen


def plan_subsets(
    profiles: Sequence[BotProfile],
    *,
    config: DistillConfig,
    elders: Sequence[Elder] = (),
    left_out: dict[str, str] | None = None,
) -> Plan:
    """Cluster profiled bots into subsets, name them, and say why."""
    left_out = dict(left_out or {})
    if not profiles:
        return Plan(method=config.clustering(), subsets=(), left_out=left_out, profiles={})
    names = [p.bot for p in profiles]
    by_bot = {p.bot: p for p in profiles}
    x = unit(np.stack([p.centroid for p in profiles]))
    clusters, merges = agglomerate(x, k=config.k, threshold=config.distance_threshold)
    groups = [tuple(names[i] for i in c) for c in clusters]
    niches = [tuple(sorted({by_bot[b].niche for b in g})) for g in groups]
    matched = _match_elders(groups, elders)
    taken = {e.name for e in elders}
    labels = []
    for gi in range(len(groups)):
        labels.append(matched[gi] or subset_name(niches[gi], taken))
        taken.add(labels[-1])
    subsets = []
    for gi, members in enumerate(clusters):
        c = centroid(x[members])
        reasons = _reasons(groups[gi], merges, names, config)
        others = [
            (float(np.clip(1.0 - x[members] @ x[o].T, 0, 2).mean()), labels[oi])
            for oi, o in enumerate(clusters)
            if oi != gi
        ]
        nearest = None
        if others:
            d, other = min(others)
            nearest = (other, d)
            reasons.append(
                f"nearest subset {other} at distance {d:.3f} > threshold "
                f"{config.distance_threshold:g}"
                if config.k is None
                else f"nearest subset {other} at distance {d:.3f}, kept apart to leave k={config.k}"
            )
        subsets.append(
            Subset(
                name=labels[gi],
                bots=groups[gi],
                niches=niches[gi],
                centroid=c,
                spread=max(cosine_distance(x[m], c) for m in members),
                nearest=nearest,
                reasons=tuple(reasons),
                elder=matched[gi],
            )
        )
    return Plan(
        method=config.clustering(), subsets=tuple(subsets), left_out=left_out, profiles=by_bot
    )


def _reasons(
    group: tuple[str, ...],
    merges: list[tuple[list[int], list[int], float]],
    names: list[str],
    config: DistillConfig,
) -> list[str]:
    members = set(group)
    out = []
    for left, right, d in merges:
        lb, rb = [names[i] for i in left], [names[i] for i in right]
        if set(lb) | set(rb) <= members:
            rule = (
                f"<= threshold {config.distance_threshold:g}"
                if config.k is None
                else f"(cutting to k={config.k})"
            )
            out.append(f"merged {'+'.join(lb)} with {'+'.join(rb)} at distance {d:.3f} {rule}")
    if len(group) == 1:
        out.append("a subset of its own")
    return out


def make_plan(
    engine: Engine,
    *,
    embedder: Embedder,
    config: DistillConfig,
    bots: Sequence[Bot] | None = None,
) -> Plan:
    """Profile the active bots (or `bots`) and cut them into named subsets."""
    profiles, left_out = profile_bots(engine, embedder=embedder, config=config, bots=bots)
    with session_scope(engine) as s:
        elders = q.list_elders(s)
    return plan_subsets(profiles, config=config, elders=elders, left_out=left_out)
