"""The benches' ground truth: the sandbox audience's expected score of texts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vibeforge.harness.truth import expected_metrics, expected_scores
from vibeforge.learn.reward import get_reward, score


def test_expected_scores_match_the_worlds_expected_counts(tmp_path) -> None:
    from vibeforge.sandbox import start_sandbox

    sb = start_sandbox(home=tmp_path, world="tiny", seed=0, speed=0)
    try:
        uid, _ = sb.world.create_account(handle="judge", niche="airlines", followers=300)
        spec = replace(get_reward("x-2026"), reach_floor=1.0)
        texts = ["", "My flight was delayed three hours again", "", "Lost my bag in Denver"]
        got = expected_scores(sb.world, texts, author_id=uid, spec=spec)
        raw = sb.world.evaluate(texts=[t for t in texts if t], author_id=uid)
    finally:
        sb.stop()
    assert got[0] == got[2] == 0.0  # an empty post earns nothing and is not sent
    want = [score(expected_metrics(r["expected"]), spec=spec).value for r in raw]
    assert [got[1], got[3]] == pytest.approx(want)
    assert all(v > 0 for v in want)
