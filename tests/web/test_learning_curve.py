"""The bot page's learning curve: one point per rewarded post, ages combined with the configured
weights, adapter versions marked where they start, the RL agreement on its own axis."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from vibeforge.analytics.learning_curve import AGREEMENT_FLAG
from vibeforge.domain import Candidate, CandidateStatus, Publication, PublicationStatus
from vibeforge.web import DashboardOptions, create_app

from .conftest import T0, TOKEN, StoreFacts


def _client(engine, **options: Any) -> TestClient:  # type: ignore[no-untyped-def]
    app = create_app(
        engine=engine, token=TOKEN, options=DashboardOptions(embeddings=False, **options)
    )
    return TestClient(app, base_url="http://127.0.0.1:8000")


def _chart(html: str, name: str = "rewards") -> dict[str, Any]:
    match = re.search(
        rf'<script type="application/json" data-chart="{name}">(.*?)</script>', html, re.S
    )
    assert match, f"no chart {name!r} on the page"
    assert f'<canvas id="{name}"' in html
    spec: dict[str, Any] = json.loads(match.group(1))
    return spec


def _series(spec: dict[str, Any], label: str) -> list[Any]:
    [data] = [d["data"] for d in spec["datasets"] if d["label"] == label]
    return list(data)


def _publish(engine, post_id: str, version: int) -> None:  # type: ignore[no-untyped-def]
    """Record that adapter `version` of skybot wrote post `post_id` (through the outbox)."""
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    with session_scope(engine) as s:
        [cand] = q.add_candidates(
            s,
            candidates=[
                Candidate(
                    bot="skybot",
                    text=post_id,
                    adapter_version=version,
                    status=CandidateStatus.CHOSEN,
                )
            ],
        )
        key = f"skybot:{post_id}"
        q.enqueue_publication(
            s,
            publication=Publication(
                idempotency_key=key, bot="skybot", text=post_id, candidate_id=cand.id
            ),
        )
        q.transition_publication(s, idempotency_key=key, status=PublicationStatus.SENT)
        q.transition_publication(
            s, idempotency_key=key, status=PublicationStatus.CONFIRMED, platform_post_id=post_id
        )


def test_the_bot_page_draws_one_point_per_rewarded_post(engine, filled: StoreFacts) -> None:  # type: ignore[no-untyped-def]
    with _client(engine) as c:
        spec = _chart(c.get("/bots/skybot").text)
        empty = c.get("/bots/quietbot").text
    # s0..s4 rewarded at 1 h (0.02 + 0.01 i); s0 also at 6 h (0.08): equal weights → 0.05
    assert len(spec["labels"]) == 5
    assert _series(spec, "reward") == pytest.approx([0.05, 0.03, 0.04, 0.05, 0.06])
    assert _series(spec, "moving mean of 5") == pytest.approx([0.05, 0.04, 0.04, 0.0425, 0.046])
    # no version wrote any post but s0 (written by no recorded version): nothing marked
    assert [d["label"] for d in spec["datasets"]] == ["reward", "moving mean of 5"]
    assert "No rewards yet" in empty and 'data-chart="rewards"' not in empty


def test_versions_weights_and_agreement_on_the_chart(engine, filled: StoreFacts) -> None:  # type: ignore[no-untyped-def]
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    _publish(engine, "s2", 2)  # v1 sft and v2 rl start at s2 (post 3), v3 rl at s4 (post 5)
    _publish(engine, "s4", 3)
    history = [
        {"at": (T0 + timedelta(hours=6)).isoformat(), "version": 1, "spearman": 0.3, "posts": 3}
    ]
    with session_scope(engine) as s:
        q.set_flag(s, name=AGREEMENT_FLAG.format(bot="skybot"), value={"history": history})
    weights = {3600.0: 0.2, 21600.0: 0.3, 86400.0: 0.5}
    with _client(engine, reward_age_weights=weights, smooth=2) as c:
        html = c.get("/bots/skybot").text
    spec = _chart(html)
    assert _series(spec, "reward")[0] == pytest.approx((0.2 * 0.02 + 0.3 * 0.08) / 0.5)
    assert _series(spec, "moving mean of 2")[1] == pytest.approx((0.056 + 0.03) / 2)
    marks = _series(spec, "adapter version")  # bars as tall as the tallest point
    assert [i for i, m in enumerate(marks) if m is not None] == [2, 4]
    assert marks[2] == marks[4] == pytest.approx(max(_series(spec, "reward")))
    assert spec["labels"][2].endswith("v1 sft, v2 rl") and spec["labels"][4].endswith("v3 rl")
    # the fixture's v2 and v3 carry no rl_mean_reward: no reward-model series to draw
    assert "RL reward-model mean" not in [d["label"] for d in spec["datasets"]]
    # measured at 06:00, after s0..s2 (01:00, 03:00, 05:00): drawn at post 3, right axis
    rho = [d for d in spec["datasets"] if d["label"] == "RM agreement (Spearman)"]
    assert rho and rho[0]["axis"] == "y2" and rho[0]["data"] == [None, None, 0.3, None, None]
    assert spec["y2"] == "Spearman"
    assert "RM agreement" in html and "Learning curve" in html
