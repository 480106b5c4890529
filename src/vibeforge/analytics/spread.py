"""How posts spread: repost/quote cascades in the sandbox, count growth with age on X.

Cascade metrics (Goel, Anderson, Hofman & Watts, "The structural virality of online
diffusion", 2016): a cascade is the tree of a root post and every repost/quote that descends
from it. size = nodes; depth = longest root-to-leaf path in edges; structural virality = the
mean shortest-path distance over all pairs of nodes (Wiener index / C(n, 2)), computed in O(n)
from subtree sizes: W = Σ over edges of s · (n − s), s the size below the edge.
A broadcast (a star of n nodes) scores 2(n−1)/n; a chain scores (n+1)/3.

What the API shows: quotes and replies are posts, so their edges come from
`referenced_tweets`; reposts are only a count (`retweet_count`), and X credits a repost of a
repost to the original, so each post's reposts join its cascade as that many anonymous leaves
below it (`reposts=`). They count in size, depth, breadth and virality like any other node.
`read_cascades` builds the same cascades from a platform's spread reads (`SpreadReader`: X or
Bluesky): quote posts fetched level by level, each post's reposters as its leaves.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from vibeforge.domain import Metrics, Post
from vibeforge.platforms.base import SpreadReader


@dataclass(frozen=True, slots=True, kw_only=True)
class Cascade:
    root: str
    size: int  # nodes, the root included
    depth: int  # edges on the longest root-to-leaf path
    structural_virality: float  # mean pairwise distance; 0 for a lone root
    max_breadth: int  # most nodes at one depth
    reposts: int = 0  # anonymous repost leaves among the nodes


def cascades(
    edges: Iterable[tuple[str, str]], *, reposts: Mapping[str, int] | None = None
) -> list[Cascade]:
    """Cascades from (child, parent) edges, largest first; a node has at most one parent.

    `reposts` maps a post to its repost count: that many leaves hang below it. A post with
    reposts but no quotes or replies is a cascade of its own.
    """
    leaves = {k: int(v) for k, v in (reposts or {}).items() if v}
    if any(v < 0 for v in leaves.values()):
        raise ValueError("repost counts must be >= 0")
    parent: dict[str, str] = {}
    for child, par in edges:
        if child == par:
            raise ValueError(f"post {child!r} cannot repost itself")
        if child in parent and parent[child] != par:
            raise ValueError(f"post {child!r} has two parents ({parent[child]!r}, {par!r})")
        parent[child] = par
    children: dict[str, list[str]] = {}
    for child, par in parent.items():
        children.setdefault(par, []).append(child)
    roots = sorted({p for p in [*children, *leaves] if p not in parent})
    out = [_measure(root, children, leaves) for root in roots]
    covered = sum(c.size - c.reposts for c in out)
    if covered < len(parent) + len(roots):
        raise ValueError("the edges contain a cycle; a cascade must be a tree")
    out.sort(key=lambda c: (-c.size, c.root))
    return out


def _measure(root: str, children: Mapping[str, list[str]], leaves: Mapping[str, int]) -> Cascade:
    order: list[tuple[str, int]] = []  # (node, depth), parents before children
    stack = [(root, 0)]
    while stack:
        node, d = stack.pop()
        order.append((node, d))
        stack.extend((c, d + 1) for c in children.get(node, ()))
    anonymous = sum(leaves.get(node, 0) for node, _ in order)
    n = len(order) + anonymous
    below: dict[str, int] = {}
    wiener = anonymous * (n - 1)  # a leaf's edge splits the tree into 1 and n − 1 nodes
    for node, _ in reversed(order):
        s = 1 + leaves.get(node, 0) + sum(below[c] for c in children.get(node, ()))
        below[node] = s
        if node != root:
            wiener += s * (n - s)
    breadth: dict[int, int] = {}
    for node, d in order:
        breadth[d] = breadth.get(d, 0) + 1
        if leaves.get(node):
            breadth[d + 1] = breadth.get(d + 1, 0) + leaves[node]
    return Cascade(
        root=root,
        size=n,
        depth=max(breadth),
        structural_virality=0.0 if n < 2 else wiener / (n * (n - 1) / 2),
        max_breadth=max(breadth.values()),
        reposts=anonymous,
    )


def read_cascades(
    reader: SpreadReader,
    root_ids: Iterable[str],
    *,
    max_depth: int = 5,
    max_quotes: int = 1000,
    max_reposters: int = 1000,
) -> list[Cascade]:
    """The cascades of `root_ids` read from a platform, largest first, one per root.

    Quote posts are read level by level down to `max_depth` quotes below a root, `max_quotes`
    in all, each post once (a root quoting another root stays a root); each post's reposters
    (at most `max_reposters` read) hang below it as anonymous leaves. On X, reposters are user
    reads and quotes post reads: both are charged per item returned.
    """
    if max_depth < 0 or max_quotes < 0 or max_reposters < 0:
        raise ValueError("max_depth, max_quotes and max_reposters must be >= 0")
    roots = list(dict.fromkeys(root_ids))
    seen = set(roots)
    edges: list[tuple[str, str]] = []
    reposts: dict[str, int] = {}
    level = roots
    for depth in range(max_depth + 1):
        below: list[str] = []
        for post_id in level:
            reposts[post_id] = len(reader.reposters(post_id=post_id, limit=max_reposters))
            room = max_quotes - (len(seen) - len(roots))
            if depth == max_depth or room <= 0:
                continue
            for quote in reader.quotes(post_id=post_id, limit=room):
                if quote.id not in seen:
                    seen.add(quote.id)
                    edges.append((quote.id, post_id))
                    below.append(quote.id)
        level = below
    found = {c.root: c for c in cascades(edges, reposts=reposts)}
    out = [found.get(r) or _measure(r, {}, {}) for r in roots]
    out.sort(key=lambda c: (-c.size, c.root))
    return out


def quote_edges(posts: Iterable[Post], *, replies: bool = False) -> list[tuple[str, str]]:
    """(child, parent) edges from stored posts' quote links (and reply links if asked)."""
    edges = []
    for p in posts:
        if p.quote_of_id:
            edges.append((p.id, p.quote_of_id))
        elif replies and p.in_reply_to_id:
            edges.append((p.id, p.in_reply_to_id))
    return edges


@dataclass(frozen=True, slots=True, kw_only=True)
class GrowthPoint:
    age_s: float
    posts: int  # posts observed at least this old
    median_count: float  # median engagement total at this age
    median_fraction: float | None  # median share of the post's last observed total


def count_at(history: Sequence[tuple[float, int]], age_s: float) -> int | None:
    """The last observed count at or before `age_s` (a step function); None before the first."""
    best = None
    for age, count in sorted(history):
        if age > age_s:
            break
        best = count
    return best


def growth_curve(
    histories: Mapping[str, Sequence[tuple[float, int]]], *, ages_s: Sequence[float]
) -> list[GrowthPoint]:
    """How engagement counts grow with age, over posts given as (age_s, count) observations.

    A post counts at an age only if it was observed at that age or later and its count there is
    known: observed at or before the age, or first observed after it with a count of 0 (counts
    never fall). The fraction is of its last observed total, over posts with total > 0.
    """
    points = []
    for age in sorted(ages_s):
        counts: list[int] = []
        fractions: list[float] = []
        for history in histories.values():
            if not history or max(a for a, _ in history) < age:
                continue
            now = count_at(history, age)
            if now is None:
                # first observed later: counts never fall, so a first 0 means 0 now; else unknown
                first = min(history)[1]
                if first != 0:
                    continue
                now = 0
            value = now
            final = max(history)[1]
            counts.append(value)
            if final > 0:
                fractions.append(value / final)
        points.append(
            GrowthPoint(
                age_s=age,
                posts=len(counts),
                median_count=float(statistics.median(counts)) if counts else 0.0,
                median_fraction=float(statistics.median(fractions)) if fractions else None,
            )
        )
    return points


def history_points(
    created_at: datetime, observations: Sequence[Metrics]
) -> list[tuple[float, int]]:
    """(age_s, engagement total) pairs of one post's metrics observations."""
    return [((m.observed_at - created_at).total_seconds(), m.total()) for m in observations]
