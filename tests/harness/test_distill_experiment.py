"""The distillation experiment: (b)'s decision rules, fast, on given sample scores; and the
whole experiment end to end on the sandbox with the real packaged models, small (slow).

The slow test runs what bench/distill.py measures ((a) elders against their bots per niche,
(b) a spawned bot against a cold-started one in an RL race judged by the sandbox's expected
engagement) and checks what holds at any scale: every niche gets an elder that writes for it
well above chance with a comparable predicted reward, and the race judges both bots at every
checkpoint. Whether (a) and (b) meet their targets is the bench's question: at this scale the
figures are within noise of each other.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vibeforge.harness.distill_experiment import (
    ExperimentConfig,
    RaceScores,
    judge_race,
    pool_races,
    race_scores,
    run_experiment,
    welch,
)
from vibeforge.paths import Home


def _scores(mean: float, *, n: int = 64, sd: float = 4.0, seed: int = 0) -> list[float]:
    """n scores with exactly this mean and sample standard deviation."""
    x = np.random.default_rng(seed).normal(size=n)
    x = (x - x.mean()) / x.std(ddof=1)
    return list(mean + sd * x)


def test_welch_matches_scipys_one_sided_test_and_its_interval() -> None:
    from scipy import stats

    a, b = _scores(10.0, sd=3.0, seed=1), _scores(11.5, n=48, sd=5.0, seed=2)
    w = welch(a, b)
    ref = stats.ttest_ind(b, a, equal_var=False, alternative="greater")
    assert w.diff == pytest.approx(1.5)
    assert w.p_greater == pytest.approx(ref.pvalue, rel=1e-9)
    assert w.diff_se == pytest.approx((9 / 64 + 25 / 48) ** 0.5)
    lo, hi = w.ci95
    two_sided = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert (lo, hi) == pytest.approx((two_sided.low, two_sided.high))
    assert welch([3.0, 3.0], [4.0, 4.0]).p_greater == 0.0  # constant samples: exact
    with pytest.raises(ValueError, match=">= 2"):
        welch([1.0], [1.0, 2.0])


def test_the_race_counts_only_when_the_cold_bot_improves_beyond_the_noise() -> None:
    start = _scores(20.0, seed=3)
    # +3 with sd 4 over 64 samples a point: t ~ 4.2, the cold bot learned
    learned = judge_race(start, _scores(23.0, seed=4), _scores(24.0, seed=5))
    assert learned["race_counts"] and learned["race_reason"] is None
    assert learned["cold_gain"]["p_one_sided"] < 0.05
    assert learned["pass"]
    # +0.5 is within the noise: the race does not count, even though the spawned bot starts
    # far above, and the reason says so
    flat = judge_race(start, _scores(20.5, seed=4), _scores(30.0, seed=5))
    assert flat["race_counts"] is False and flat["pass"] is False
    assert "did not improve" in flat["race_reason"] and "does not count" in flat["why"]
    assert flat["cold_gain"]["p_one_sided"] >= 0.05
    assert flat["verdict"] == "above"  # reported all the same
    # a cold bot that got worse does not count either
    assert judge_race(start, _scores(17.0, seed=4), _scores(30.0, seed=5))["race_counts"] is False


def test_b_passes_when_the_spawned_bot_starts_at_or_above_the_cold_bots_end() -> None:
    start, end = _scores(20.0, seed=6), _scores(24.0, seed=7)

    def decide(spawned: float) -> dict:
        return judge_race(start, end, _scores(spawned, seed=8))

    above, at, short, below = decide(28.0), decide(24.2), decide(23.8), decide(19.0)
    assert (above["verdict"], above["pass"]) == ("above", True)
    assert (at["verdict"], at["pass"]) == ("at (within noise)", True)
    assert (short["verdict"], short["pass"]) == ("below (within noise)", False)
    assert (below["verdict"], below["pass"]) == ("below", False)
    versus = at["spawned_vs_cold_end"]
    assert versus["diff"] == pytest.approx(0.2, abs=1e-4)
    assert versus["cold_end"]["mean"] == pytest.approx(24.0, abs=1e-4)
    assert versus["spawned_step0"]["se"] == pytest.approx(4.0 / 8, abs=1e-4)
    assert versus["ci95"][0] < 0 < versus["ci95"][1]
    assert below["spawned_vs_cold_end"]["ci95"][1] < 0 < above["spawned_vs_cold_end"]["ci95"][0]


def test_pooling_counts_seeds_and_claims_only_the_issues_target() -> None:
    def seed(i: int, *, end: float, spawned: float, n: int = 64) -> RaceScores:
        return RaceScores(
            seed=i,
            cold_start=_scores(20.0, n=n, seed=10 * i),
            cold_end=_scores(end, n=n, seed=10 * i + 1),
            spawned_start=_scores(spawned, n=n, seed=10 * i + 2),
        )

    good = [seed(i, end=24.0, spawned=25.0) for i in range(5)]
    met = pool_races(good, rl_steps=20)
    assert (met["race_counted"], met["b_passed"]) == (5, 5)
    assert met["target_met"] and met["b_pass_every_seed"] and met["not_claimed"] == []
    mixed = [*good[:3], seed(3, end=20.2, spawned=25.0), seed(4, end=24.0, spawned=18.0)]
    got = pool_races(mixed, rl_steps=20)
    assert (got["race_counted"], got["b_passed"]) == (4, 3)
    assert not got["target_met"] and not got["b_pass_every_seed"]
    assert [r["race_counts"] for r in got["per_seed"]] == [True, True, True, False, True]
    assert any("counted on 4 of 5" in s for s in got["not_claimed"])
    # every seed passes, but too few seeds, samples or steps for the claim
    few = pool_races([seed(i, end=24.0, spawned=25.0, n=32) for i in range(3)], rl_steps=2)
    assert few["b_pass_every_seed"] and not few["target_met"]
    assert len(few["not_claimed"]) == 3


def test_race_scores_reads_the_decisive_points_and_checkpoints_cover_the_race() -> None:
    def pts(*means: float) -> list[dict]:
        return [{"step": i, "_expected": [m, m + 1]} for i, m in enumerate(means)]

    result = {
        "config": {"seed": 3},
        "b_spawn_vs_cold": {"cold": {"points": pts(1, 2, 3)}, "spawned": {"points": pts(7, 8)}},
    }
    got = race_scores(result)
    assert (got.seed, got.cold_start, got.cold_end, got.spawned_start) == (
        3,
        [1, 2],
        [3, 4],
        [7, 8],
    )
    assert ExperimentConfig(eval_every=5).checkpoints(20) == [0, 5, 10, 15, 20]
    assert ExperimentConfig(eval_every=0).checkpoints(20) == [0, 20]
    assert ExperimentConfig(eval_every=5).checkpoints(7) == [0, 5, 7]
    assert ExperimentConfig().checkpoints(0) == [0]
    with pytest.raises(ValueError, match="eval_samples"):
        ExperimentConfig(eval_samples=1)


SMALL = ExperimentConfig(
    niches=("airlines", "apple"),
    sft_steps=6,
    outputs_per_bot=12,
    new_tokens=32,
    elder_epochs=2,
    elder_max_steps=8,
    eval_posts=8,
    warm_examples=16,
    rl_steps=4,
    group_size=4,
    prompts_per_step=1,
    eval_samples=8,
    eval_every=2,
    spawned_rl_steps=2,
)


@pytest.mark.slow
def test_elders_match_their_bots_and_the_race_is_judged_by_the_sandbox(tmp_path) -> None:
    import torch

    from vibeforge.models.base import prepare

    home = Path(".vibeforge")
    for model in (SMALL.bot_model, SMALL.elder_model):
        prepare(model, home=home)
    torch.manual_seed(0)
    result = run_experiment(tmp_path / "work", models=Home(home).models, config=SMALL)
    print(json.dumps(result, indent=2))
    assert result["elders"] and all(e["examples"] > 0 for e in result["elders"])
    chance = 1 / len(SMALL.niches)
    for niche, row in result["a_per_niche"].items():
        assert row["elder"] is not None, f"{niche} has no elder"
        # the elder writes for the niche it is conditioned on, well above chance, and its posts
        # are worth a comparable reward; bench/distill.py measures the claims themselves
        assert row["elder"]["assigned_right"] > chance, niche
        assert row["reward_ratio"] >= 0.5, niche
    race = result["b_spawn_vs_cold"]
    assert race["warm_kept"] >= 4
    assert race["elder"] in {e["subset"] for e in result["elders"]}
    # both bots raced every step and were judged by the sandbox at every checkpoint
    assert len(race["cold"]["rm_curve"]) == SMALL.rl_steps + 1
    assert len(race["spawned"]["rm_curve"]) == 3
    assert [p["step"] for p in race["cold"]["points"]] == [0, 2, 4]
    assert [p["step"] for p in race["spawned"]["points"]] == [0, 2]
    for point in race["cold"]["points"] + race["spawned"]["points"]:
        assert point["n"] == len(point["_expected"]) == SMALL.eval_samples
        assert point["expected"] > 0  # the audience engages with at least some posts
    decision = race["decision"]
    assert result["race_counts"] == decision["race_counts"]
    assert result["b_pass"] == (decision["race_counts"] and decision["spawned_at_or_above"])
    assert (result["race_reason"] is None) == decision["race_counts"]
