"""The sandbox's ground truth for the benches: the audience's expected score of texts.

`World.evaluate` (what `/admin/evaluate` serves) gives each hypothetical post's expected
(fractional) counts; the loop's reward is linear in them, so scoring them gives the expected
reward. Only benches read this: the learner never sees it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from vibeforge.domain import Metrics
from vibeforge.learn.reward import RewardSpec, score


def expected_metrics(expected: dict[str, float]) -> Metrics:
    """Metrics holding the sandbox's expected counts (fractional: the score is linear in them)."""
    return Metrics(
        observed_at=datetime.now(UTC),
        impression_count=expected.get("impressions", 0.0),  # type: ignore[arg-type]
        like_count=expected.get("like", 0.0),  # type: ignore[arg-type]
        repost_count=expected.get("repost", 0.0),  # type: ignore[arg-type]
        reply_count=expected.get("reply", 0.0),  # type: ignore[arg-type]
        quote_count=expected.get("quote", 0.0),  # type: ignore[arg-type]
        bookmark_count=expected.get("bookmark", 0.0),  # type: ignore[arg-type]
    )


def expected_scores(
    world: Any,
    texts: Sequence[str],
    *,
    author_id: int,
    spec: RewardSpec,
    at_ms: int | None = None,
) -> list[float]:
    """Each text's expected score by the world's audience, posted by `author_id` at `at_ms`
    (default: now); an empty text earns 0 and is not sent."""
    nonempty = [t for t in texts if t]
    judged = iter(
        world.evaluate(texts=nonempty, author_id=author_id, at_ms=at_ms) if nonempty else []
    )
    return [
        score(expected_metrics(next(judged)["expected"]), spec=spec).value if t else 0.0
        for t in texts
    ]
