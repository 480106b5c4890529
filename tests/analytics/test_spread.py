"""Cascade size, depth and structural virality; count growth with age; on known shapes."""

from __future__ import annotations

import itertools
import random
from collections import deque
from datetime import UTC, datetime, timedelta

import pytest

from vibeforge.analytics.spread import (
    cascades,
    count_at,
    growth_curve,
    history_points,
    quote_edges,
    read_cascades,
)
from vibeforge.domain import Account, Metrics, Post
from vibeforge.platforms.base import SpreadReader


def test_star_chain_and_lone_root() -> None:
    star = [(f"s{i}", "s0") for i in range(1, 5)]  # a broadcast: root + 4 direct reposts
    chain = [("c1", "c0"), ("c2", "c1"), ("c3", "c2")]  # person-to-person, 4 nodes
    by_root = {c.root: c for c in cascades(star + chain)}
    s, c = by_root["s0"], by_root["c0"]
    assert (s.size, s.depth, s.max_breadth) == (5, 1, 4)
    assert s.structural_virality == pytest.approx(2 * 4 / 5)
    assert (c.size, c.depth, c.max_breadth) == (4, 3, 1)
    assert c.structural_virality == pytest.approx((4 + 1) / 3)
    assert [x.root for x in cascades(star + chain)] == ["s0", "c0"]  # largest first
    assert cascades([]) == []


def _brute_virality(edges: list[tuple[str, str]]) -> float:
    adj: dict[str, set[str]] = {}
    for a, b in edges:
        adj.setdefault(a, set()).add(b)
        adj.setdefault(b, set()).add(a)
    nodes = sorted(adj)
    total = 0
    for src in nodes:
        dist = {src: 0}
        todo = deque([src])
        while todo:
            u = todo.popleft()
            for v in adj[u]:
                if v not in dist:
                    dist[v] = dist[u] + 1
                    todo.append(v)
        total += sum(dist.values())
    n = len(nodes)
    return total / (n * (n - 1))


@pytest.mark.parametrize("seed", range(5))
def test_virality_matches_all_pairs_shortest_paths_on_random_trees(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(2, 40)
    edges = [(f"n{i}", f"n{rng.randrange(i)}") for i in range(1, n)]
    [tree] = cascades(edges)
    assert tree.size == n
    assert tree.structural_virality == pytest.approx(_brute_virality(edges))


def test_cycles_and_two_parents_are_refused() -> None:
    with pytest.raises(ValueError, match="cycle"):
        cascades([("a", "b"), ("b", "a")])
    with pytest.raises(ValueError, match="two parents"):
        cascades([("a", "b"), ("a", "c")])
    with pytest.raises(ValueError, match="itself"):
        cascades([("a", "a")])


def test_quote_edges_from_posts() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    posts = [
        Post(id="1", text="root", author_id="a", created_at=t),
        Post(id="2", text="q", author_id="b", created_at=t, quote_of_id="1"),
        Post(id="3", text="r", author_id="c", created_at=t, in_reply_to_id="2"),
    ]
    assert quote_edges(posts) == [("2", "1")]
    assert quote_edges(posts, replies=True) == [("2", "1"), ("3", "2")]
    [c] = cascades(quote_edges(posts, replies=True))
    assert (c.size, c.depth) == (3, 2)


def test_growth_curve_known_medians() -> None:
    histories = {
        "a": [(0, 0), (3600, 5), (86400, 10)],
        "b": [(3600, 1), (86400, 4)],
        "c": [(3600, 2)],  # never observed at 24 h: left out there
        "d": [(7200, 0), (86400, 0)],  # no engagement: no fraction
    }
    one_hour, day = growth_curve(histories, ages_s=[86400, 3600])
    assert one_hour.age_s == 3600 and one_hour.posts == 4
    assert one_hour.median_count == pytest.approx(1.5)  # counts 5, 1, 2, 0 (d unseen yet: 0)
    assert one_hour.median_fraction == pytest.approx(0.5)  # 5/10, 1/4, 2/2
    assert day.posts == 3 and day.median_count == pytest.approx(4)
    assert day.median_fraction == pytest.approx(1.0)
    assert count_at([(10, 1), (20, 3)], 15) == 1 and count_at([(10, 1)], 5) is None


def test_history_points_use_age_and_totals() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    obs = [Metrics(observed_at=t + timedelta(hours=h), like_count=h, reply_count=1) for h in (1, 6)]
    assert history_points(t, obs) == [(3600.0, 2), (21600.0, 7)]
    assert list(itertools.chain.from_iterable(history_points(t, []))) == []


def _with_leaves(edges: list[tuple[str, str]], reposts: dict[str, int]) -> list[tuple[str, str]]:
    """The same tree with each repost as an explicit node (for brute-force checks)."""
    return edges + [(f"{node}#r{i}", node) for node, k in reposts.items() for i in range(k)]


def test_reposts_hang_below_their_post_as_leaves() -> None:
    # root q0 has 3 reposts; its quote q1 has 2 reposts; q1 is quoted by q2 (no reposts)
    edges = [("q1", "q0"), ("q2", "q1")]
    reposts = {"q0": 3, "q1": 2, "q2": 0}
    [c] = cascades(edges, reposts=reposts)
    assert (c.root, c.size, c.reposts) == ("q0", 8, 5)
    assert c.depth == 2  # q0 → q1 → (q2 | q1's reposts)
    assert c.max_breadth == 4  # depth 1: q1 and q0's three reposts
    [explicit] = cascades(_with_leaves(edges, reposts))
    assert (explicit.size, explicit.depth, explicit.max_breadth) == (8, 2, 4)
    assert c.structural_virality == pytest.approx(explicit.structural_virality)
    assert c.structural_virality == pytest.approx(_brute_virality(_with_leaves(edges, reposts)))
    # a post with reposts but no quotes is a broadcast of its own
    [star] = cascades([], reposts={"lone": 4})
    assert (star.size, star.depth, star.max_breadth, star.reposts) == (5, 1, 4, 4)
    assert star.structural_virality == pytest.approx(2 * 4 / 5)
    with pytest.raises(ValueError, match=">= 0"):
        cascades([], reposts={"x": -1})


@pytest.mark.parametrize("seed", range(3))
def test_virality_with_reposts_matches_the_explicit_tree(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 15)
    edges = [(f"n{i}", f"n{rng.randrange(i)}") for i in range(1, n)]
    reposts = {f"n{i}": rng.randint(0, 4) for i in range(n)}
    reposts["n0"] += 1  # never a lone root without reposts
    [c] = cascades(edges, reposts=reposts)
    [explicit] = cascades(_with_leaves(edges, reposts))
    assert (c.size, c.depth, c.max_breadth) == (
        explicit.size,
        explicit.depth,
        explicit.max_breadth,
    )
    assert c.structural_virality == pytest.approx(explicit.structural_virality)


def test_growth_leaves_out_counts_it_cannot_know() -> None:
    # first seen at 6 h with 8 engagements: its 1 h count is unknown, not 0
    histories = {"late": [(21600, 8), (86400, 9)], "early": [(3600, 3), (86400, 6)]}
    one_hour = growth_curve(histories, ages_s=[3600])[0]
    assert one_hour.posts == 1 and one_hour.median_count == 3
    assert one_hour.median_fraction == pytest.approx(0.5)


class _Graph:
    """A tiny in-memory platform: who quoted what (child → parent) and how many reposted each
    post; it records the reads made, and satisfies `SpreadReader`."""

    def __init__(self, quotes: dict[str, str], reposts: dict[str, int]) -> None:
        self.parent, self.reposts = quotes, reposts
        self.read: list[tuple[str, str]] = []

    def likers(self, *, post_id: str, limit: int = 1000) -> list[Account]:
        return []

    def reposters(self, *, post_id: str, limit: int = 1000) -> list[Account]:
        self.read.append(("reposters", post_id))
        n = min(self.reposts.get(post_id, 0), limit)
        return [Account(id=f"{post_id}-u{i}", handle=f"u{i}") for i in range(n)]

    def quotes(self, *, post_id: str, limit: int = 1000) -> list[Post]:
        self.read.append(("quotes", post_id))
        t = datetime(2026, 1, 1, tzinfo=UTC)
        found = [c for c, p in sorted(self.parent.items()) if p == post_id]
        return [
            Post(id=c, text="q", author_id="a", created_at=t, quote_of_id=post_id)
            for c in found[:limit]
        ]


def test_read_cascades_matches_cascades_of_the_whole_graph() -> None:
    # r ◄ a ◄ b ◄ c, r ◄ d; s alone with 2 reposts; t alone, nothing
    graph = _Graph({"a": "r", "b": "a", "c": "b", "d": "r"}, {"r": 3, "b": 1, "s": 2})
    assert isinstance(graph, SpreadReader)
    got = read_cascades(graph, ["t", "r", "s", "r"])
    assert [c.root for c in got] == ["r", "s", "t"]  # each root once, largest first
    whole = {c.root: c for c in cascades(list(graph.parent.items()), reposts=graph.reposts)}
    assert got[0] == whole["r"] and got[1] == whole["s"]
    assert (got[0].size, got[0].depth, got[0].reposts) == (9, 3, 4)  # b's repost: depth 3
    assert (got[2].size, got[2].depth, got[2].max_breadth) == (1, 0, 1)
    assert sorted(p for kind, p in graph.read if kind == "reposters") == list("abcdrst")


def test_read_cascades_is_bounded_and_reads_each_post_once() -> None:
    graph = _Graph({"a": "r", "b": "a", "c": "b", "d": "r"}, {"c": 5})
    [shallow] = read_cascades(graph, ["r"], max_depth=2)  # r, a, d, then b; c is not read
    assert (shallow.size, shallow.depth, shallow.reposts) == (4, 2, 0)
    assert ("reposters", "c") not in graph.read and ("quotes", "b") not in graph.read
    [few] = read_cascades(_Graph(graph.parent, {}), ["r"], max_quotes=1)
    assert few.size == 2
    [none] = read_cascades(graph, ["r"], max_depth=0)
    assert none.size == 1
    # a root quoting another root stays a root of its own; a cycle is read once, not forever
    both = read_cascades(_Graph({"a": "r", "b": "a"}, {"a": 1}), ["r", "a"])
    assert [(c.root, c.size) for c in both] == [("a", 3), ("r", 1)]
    loop = _Graph({"a": "r", "b": "a", "r": "b"}, {"a": 1})
    [ring] = read_cascades(loop, ["r"])
    assert ring.size == 4 and [k for k, p in loop.read if p == "r"] == ["reposters", "quotes"]
    with pytest.raises(ValueError, match=">= 0"):
        read_cascades(graph, ["r"], max_depth=-1)
