"""The audience model with the real packaged embedder (all-MiniLM-L6-v2): slow."""

from __future__ import annotations

import numpy as np
import pytest
from tests.sandbox.test_model import OFF_NICHE, ON_NICHE

from vibeforge.embedding import SentenceEmbedder
from vibeforge.sandbox.engine import World

pytestmark = pytest.mark.slow


def test_minilm_world_rewards_on_niche_and_caches_embeddings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = World(home=tmp_path, speed=0)
    w.seed(world="demo", seed=0, tweets_per_niche=40, members_per_niche=600)
    assert w.spec.embedder == "minilm"
    uid, _ = w.create_account(handle="realbot", niche="airlines")
    on = w.evaluate(texts=ON_NICHE, author_id=uid)
    off = w.evaluate(texts=OFF_NICHE, author_id=uid)

    def likes(rs: list[dict]) -> float:
        return float(np.mean([r["expected"]["like"] for r in rs]))

    assert likes(on) > 3 * likes(off)

    # a trend toward JetBlue moves what earns engagement with real sentence embeddings too
    on_trend = ["@JetBlue the mint seats and free wifi are great", "@JetBlue snacks and wifi!"]
    other = ["@united my checked bag never arrived", "@USAirways two hours on hold to rebook"]
    at = w.now_ms() + 3_600_000

    def ratio() -> float:
        return likes(w.evaluate(texts=on_trend, author_id=uid, at_ms=at)) / likes(
            w.evaluate(texts=other, author_id=uid, at_ms=at)
        )

    before = ratio()
    w.add_trend(niche="airlines", text="jetblue", at_ms=at, strength=1.5)
    assert ratio() > 1.3 * before
    w.close()
    cached = SentenceEmbedder(cache_size=None, cache_dir=tmp_path / "embeddings")
    assert len(cached._cache) >= 120  # the corpus is embedded once per machine
