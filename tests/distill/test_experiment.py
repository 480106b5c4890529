"""The distillation claims on the sandbox with the real packaged models, at a small scale.

(a) each niche's elder is on-niche at least as often as its bots, at >= 90% of their predicted
reward; (b) a bot spawned from the elder reaches a cold-started bot's reward after N RL steps in
at most N/2 steps. bench/distill.py runs the same at a larger scale and prints the figures.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vibeforge.distill.experiment import ExperimentConfig, run_experiment

pytestmark = pytest.mark.slow

SMALL = ExperimentConfig(
    niches=("airlines", "apple"),
    sft_steps=6,
    outputs_per_bot=12,
    new_tokens=32,
    elder_epochs=2,
    elder_max_steps=8,
    eval_posts=8,
    warm_examples=16,
    rl_steps=8,
    group_size=4,
    prompts_per_step=1,
)


def test_elders_match_their_bots_and_spawned_bots_learn_faster(tmp_path) -> None:
    import torch

    from vibeforge.models.base import prepare

    home = Path(".vibeforge")
    for model in (SMALL.bot_model, SMALL.elder_model):
        prepare(model, home=home)
    torch.manual_seed(0)
    torch.set_num_threads(1)  # on a shared CPU, more threads spin and slow every step
    result = run_experiment(tmp_path / "work", models=home / "models", config=SMALL)
    print(json.dumps(result, indent=2))
    assert result["elders"] and all(e["examples"] > 0 for e in result["elders"])
    for niche, row in result["a_per_niche"].items():
        assert row["elder"] is not None, f"{niche} has no elder"
        assert row["elder"]["assigned_right"] >= row["bots"]["assigned_right"], niche
        assert row["reward_ratio"] >= 0.9, niche
    race = result["b_spawn_vs_cold"]
    assert race["warm_kept"] >= 4
    assert race["spawned_steps"] is not None and race["spawned_steps"] <= SMALL.rl_steps // 2
