"""Vibe SFT on a tiny real model: held-out loss falls, weights move, rounds are incremental."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import torch

from vibeforge.domain import Post
from vibeforge.learn.vibe import VibeConfig, capture_vibe, heldout_loss, select_posts, train_vibe
from vibeforge.models.adapters import AdapterStore
from vibeforge.models.bank import AdapterBank
from vibeforge.models.lora import LoraSpec, init_lora
from vibeforge.models.testing import tiny_base

T0 = datetime(2026, 3, 1, tzinfo=UTC)
GATES = ["12", "4B", "31", "7", "22", "9C", "15", "2"]
MOODS = ["again", "today", "as usual", "lol", "send help", "classic"]


def niche_posts(n: int, *, start: int = 0, shift: str = "delayed") -> list[Post]:
    """An airline-complaints niche with a strong, learnable template."""
    return [
        Post(
            id=str(start + i),
            text=f"flight {shift} at gate {GATES[i % 8]} {MOODS[i % 6]} #travel",
            author_id=f"a{i % 5}",
            created_at=T0 + timedelta(minutes=start + i),
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def base():  # type: ignore[no-untyped-def]
    return tiny_base(seed=1)


CONFIG = VibeConfig(
    lora=LoraSpec(rank=8, alpha=16, target_modules=("q_proj", "v_proj", "o_proj", "up_proj")),
    lr=1e-2,
    epochs=3,
    batch_size=8,
    holdout=0.2,
)


def test_sft_lowers_heldout_loss_and_moves_the_weights(base) -> None:  # type: ignore[no-untyped-def]
    result = train_vibe(base=base, posts=niche_posts(40), config=CONFIG)
    assert result is not None
    m = result.metrics
    assert m["n_heldout"] == 8 and m["n_new"] == 32 and m["n_replay"] == 0
    assert m["heldout_loss_after"] < 0.8 * m["heldout_loss_before"]
    assert len(m["loss_curve"]) == m["steps"] == 12
    assert sum(m["loss_curve"][-3:]) < sum(m["loss_curve"][:3])
    start = init_lora(base.model, CONFIG.lora, seed=CONFIG.seed)
    moved = [
        not torch.equal(result.weights.tensors[k][1], start.tensors[k][1]) for k in start.tensors
    ]
    assert all(moved)
    assert all(not t.requires_grad for t in result.weights.parameters())
    assert all(not p.requires_grad for p in base.model.parameters())
    # an unrelated niche gains far less than the trained one
    other = ["my sourdough starter smells like apples", "proofing bread overnight again"]
    fresh = heldout_loss(base, start, other, CONFIG)
    tuned = heldout_loss(base, result.weights, other, CONFIG)
    assert fresh - tuned < m["heldout_loss_before"] - m["heldout_loss_after"]


def test_rounds_are_incremental_with_replay_and_lineage(base, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bank = AdapterBank(base, AdapterStore(tmp_path))
    config = VibeConfig(lora=LoraSpec(rank=4), lr=5e-3, epochs=1, replay_ratio=0.5, holdout=0.0)
    first_posts = niche_posts(16)
    v1 = capture_vibe(bank=bank, bot="sky", posts=first_posts, config=config)
    assert v1 is not None and v1.version == 1 and v1.parent is None
    assert v1.window_end == first_posts[-1].created_at and v1.metrics["n_new"] == 16
    # nothing new: no version
    assert capture_vibe(bank=bank, bot="sky", posts=first_posts, config=config) is None
    drift = niche_posts(10, start=100, shift="cancelled")
    v2 = capture_vibe(bank=bank, bot="sky", posts=first_posts + drift, config=config)
    assert v2 is not None and v2.parent == 1 and v2.version == 2
    assert v2.metrics["n_new"] == 10 and v2.metrics["n_replay"] == 5
    assert v2.window_start == drift[0].created_at
    stored = AdapterStore(tmp_path).load("sky", 2)
    assert stored.version.metrics["loss_curve"] == v2.metrics["loss_curve"]
    # v2 started from v1, so it differs from v1 but keeps its shape
    v1_w = AdapterStore(tmp_path).load("sky", 1).weights
    assert v1_w.tensors.keys() == stored.weights.tensors.keys()
    assert any(
        not torch.equal(v1_w.tensors[k][0], stored.weights.tensors[k][0]) for k in v1_w.tensors
    )


def test_select_posts_replays_only_older_posts() -> None:
    posts = niche_posts(30)
    since = posts[19].created_at
    new, replay = select_posts(posts, since=since, config=VibeConfig(replay_ratio=0.5))
    assert [p.id for p in new] == [str(i) for i in range(20, 30)]
    assert len(replay) == 5 and all(p.created_at <= since for p in replay)


@pytest.mark.parametrize(
    ("kwargs", "fix"),
    [({"lr": 0}, "1e-3"), ({"holdout": 0.7}, "0.1"), ({"max_post_tokens": 2}, "96")],
)
def test_config_says_how_to_fix(kwargs, fix) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=fix):
        VibeConfig(**kwargs)


def test_naive_timestamps_count_as_utc() -> None:
    posts = [
        Post(id="1", text="a", author_id="x", created_at=datetime(2026, 3, 1, 10)),
        Post(id="2", text="b", author_id="x", created_at=T0 + timedelta(hours=12)),
    ]
    new, _ = select_posts(posts, since=T0 + timedelta(hours=11), config=VibeConfig())
    assert [p.id for p in new] == ["2"]
