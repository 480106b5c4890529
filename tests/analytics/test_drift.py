"""Centroid drift and token-distribution divergence on constructed windows with known answers."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from vibeforge.analytics.drift import cosine_distance, js_divergence, language_shift, post_shift
from vibeforge.domain import Post

T0 = datetime(2026, 3, 1, tzinfo=UTC)
H = 3600.0


def test_js_divergence_known_values() -> None:
    assert js_divergence({"a": 2, "b": 2}, {"a": 5, "b": 5}) == pytest.approx(0.0)
    assert js_divergence({"a": 1}, {"b": 3}) == pytest.approx(1.0)
    # p = (½, ½, 0), q = (½, 0, ½): each KL to the mixture is ½ bit
    assert js_divergence({"a": 1, "b": 1}, {"a": 1, "c": 1}) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="non-empty"):
        js_divergence({}, {"a": 1})


def test_cosine_distance_known_values() -> None:
    e1, e2 = np.eye(2, dtype=np.float32)
    assert cosine_distance(e1, e1) == pytest.approx(0.0)
    assert cosine_distance(e1, e2) == pytest.approx(1.0)
    assert cosine_distance(e1, -e1) == pytest.approx(2.0)
    assert cosine_distance(e1, (e1 + e2) / math.sqrt(2)) == pytest.approx(1 - math.sqrt(0.5))


def test_language_shift_per_window() -> None:
    e1, e2, _ = np.eye(3, dtype=np.float32)
    mid = (e1 + e2) / math.sqrt(2)
    # windows 0 and 1 talk about flights (same direction), window 3 about football, window 4 both;
    # window 2 is empty and skipped
    plan = [
        (0, "flight delayed gate", e1),
        (0, "flight delayed gate", e1),
        (1, "flight delayed gate", e1),
        (3, "football match goal", e2),
        (3, "football match goal", e2),
        (4, "flight football", mid),
    ]
    texts = [t for _, t, _ in plan]
    times = [T0 + timedelta(hours=h, minutes=i) for i, (h, _, _) in enumerate(plan)]
    vectors = np.stack([v for _, _, v in plan])
    rows = language_shift(texts, times, window_s=H, vectors=vectors)
    assert [r.start for r in rows] == [T0 + timedelta(hours=h) for h in (0, 1, 3, 4)]
    assert [r.posts for r in rows] == [2, 1, 2, 1]
    first, same, moved, half = rows
    assert first.centroid_shift is None and first.token_jsd is None
    assert same.centroid_shift == pytest.approx(0.0, abs=1e-6)
    assert same.token_jsd == pytest.approx(0.0)
    assert moved.centroid_shift == pytest.approx(1.0)
    assert moved.drift_from_start == pytest.approx(1.0)
    assert moved.token_jsd == pytest.approx(1.0)  # no word in common
    assert half.centroid_shift == pytest.approx(1 - math.sqrt(0.5))
    assert half.drift_from_start == pytest.approx(1 - math.sqrt(0.5))
    # {flight, football} against {football, match, goal} x2
    p = {"flight": 1, "football": 1}
    q = {"football": 2, "match": 2, "goal": 2}
    assert half.token_jsd == pytest.approx(js_divergence(p, q))
    assert 0 < half.token_jsd < 1


def test_language_shift_without_vectors_and_bad_input() -> None:
    rows = language_shift(["a cat", "dog days"], [T0, T0 + timedelta(hours=1)], window_s=H)
    assert rows[1].centroid_shift is None and rows[1].token_jsd == pytest.approx(1.0)
    with pytest.raises(ValueError, match="one time per text"):
        language_shift(["x"], [], window_s=H)
    with pytest.raises(ValueError, match="must be > 0"):
        language_shift([], [], window_s=0)


@pytest.mark.slow
def test_real_embeddings_drift_more_across_topics_than_within_one() -> None:
    from vibeforge.embedding import shared_embedder

    airline = [
        "my flight was delayed three hours at the gate",
        "the airline lost my suitcase again",
        "cabin crew were lovely on the red-eye",
        "boarding queue at the airport took forever",
    ]
    sport = [
        "what a goal in the last minute of the match",
        "the striker scored a hat trick tonight",
        "our team needs a new goalkeeper next season",
        "the referee missed an obvious penalty",
    ]
    posts = [
        Post(id=str(i), text=t, author_id="a", created_at=T0 + timedelta(hours=h, minutes=i))
        for i, (h, t) in enumerate(
            [(0, t) for t in airline[:2]] + [(1, t) for t in airline[2:]] + [(2, t) for t in sport]
        )
    ]
    rows = post_shift(posts, window_s=H, embed=shared_embedder().encode)
    assert len(rows) == 3
    within, across = rows[1].centroid_shift, rows[2].centroid_shift
    assert within is not None and across is not None
    assert across > within + 0.1  # measured: 0.84 across, 0.60 within
