"""bench/learning.py at a small scale: the real SmolLM2 bot in the sandbox, through run_round.

The ≥ 30% engagement gain is a claim about the full-size run (bench/learning.py prints it); at
this scale the test checks that every piece of that experiment works for real: the SFT adapter
is trained, RL versions follow it and move its weights, every post gets a realised score, the
niche classifier keeps the bot in its niche and no post regurgitates an ingested one.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from vibeforge.paths import Home

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[2] / "bench" / "learning.py"


def _bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_learning", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def test_rl_from_engagement_runs_end_to_end_on_smollm2(tmp_path: Path) -> None:
    from vibeforge.models.adapters import AdapterStore
    from vibeforge.models.base import prepare

    bench = _bench()
    home = tmp_path
    prepare("smollm2-135m", home=home)  # run_learning links home/models into its folder
    config = bench.LearningConfig(
        world="tiny",
        pre_posts=3,
        rl_posts=3,
        window=3,
        rl_steps=1,
        group_size=4,
        candidates=2,
        max_new_tokens=32,
        sft_max_steps=8,
    )
    out = bench.run_learning(home, config)
    assert out["posts"] == {"pre": 3, "rl": 3, "window": 3}
    assert all(row["score"] is not None for row in out["curve"])
    assert out["mean_score_pre"] is not None and out["mean_score_last"] is not None
    assert out["grpo_steps"] == 3 and len(out["rl_reward_model_curve"]) == 3
    kinds = [kind for _, kind in out["adapter_versions"]]
    assert kinds[0] == "sft" and kinds.count("rl") == 3
    store = AdapterStore(Home(home / "learning").adapters)
    sft = store.load("learnbot", 1).weights
    last = store.load("learnbot", out["adapter_versions"][-1][0]).weights
    assert any(not torch.equal(sft.tensors[k][1], last.tensors[k][1]) for k in sft.tensors)
    assert out["classifier"]["accuracy_on_human_posts"] >= 0.8
    assert out["niche_fidelity"]["all"] >= 0.8
    assert out["regurgitation_failures"] == 0
