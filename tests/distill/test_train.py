"""Training an elder on tiny real models: weights move, loss falls, runs resume, versions."""

from __future__ import annotations

import pytest
import torch
from tests.distill.conftest import add_outputs

from vibeforge.distill.config import DistillConfig
from vibeforge.distill.dataset import Example
from vibeforge.distill.elders import ElderStore
from vibeforge.distill.pipeline import elder_records, run_distill
from vibeforge.distill.train import train_elder
from vibeforge.models.registry import load_model
from vibeforge.paths import Home
from vibeforge.sandbox.corpus import niche_tweets
from vibeforge.store import queries as q
from vibeforge.store import session_scope


def _examples(n: int = 12) -> list[Example]:
    out = []
    for niche in ("airlines", "apple"):
        for i, text in enumerate(niche_tweets(niche, limit=n // 2)):
            out.append(
                Example(
                    text=text[:60],
                    niche=niche,
                    bot=f"{niche}-bot",
                    adapter_version=1,
                    candidate_id=i,
                    predicted_reward=1.0,
                    engagement=None,
                    score=1.0,
                )
            )
    return out


CONFIG = DistillConfig(elder_base="tiny-test-elder", lr=1e-2, epochs=4, batch_size=4, lora_rank=4)


def test_a_lora_step_moves_the_elder_and_lowers_the_loss(tmp_path) -> None:
    base = load_model("tiny-test-elder", home=tmp_path)
    frozen = [p.detach().clone() for p in base.model.parameters()]
    result = train_elder(base=base, examples=_examples(), config=CONFIG, dataset_sha256="x")
    assert result.weights is not None
    assert any(float(b.abs().sum()) > 0 for _, b in result.weights.tensors.values())  # B moved
    assert result.metrics["loss_after"] < result.metrics["loss_before"] - 0.1
    assert result.metrics["steps"] == 12 and len(result.metrics["loss_curve"]) == 12
    assert all(torch.equal(a, b) for a, b in zip(frozen, base.model.parameters(), strict=True))


def test_a_full_fine_tune_moves_the_base_weights(tmp_path) -> None:
    base = load_model("tiny-test-elder", home=tmp_path)
    before = [p.detach().clone() for p in base.model.parameters()]
    config = DistillConfig(
        elder_base="tiny-test-elder", method="full", lr=1e-3, epochs=2, batch_size=4
    )
    result = train_elder(base=base, examples=_examples(), config=config, dataset_sha256="x")
    assert result.weights is None
    moved = sum(not torch.equal(a, b) for a, b in zip(before, base.model.parameters(), strict=True))
    assert moved > len(before) // 2
    assert result.metrics["loss_after"] < result.metrics["loss_before"]
    assert not any(p.requires_grad for p in base.model.parameters())


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path) -> None:
    examples = _examples()
    config = DistillConfig(
        elder_base="tiny-test-elder",
        lr=1e-2,
        epochs=2,
        batch_size=4,
        lora_rank=4,
        checkpoint_every=1,
    )
    whole = train_elder(
        base=load_model("tiny-test-elder", home=tmp_path),
        examples=examples,
        config=config,
        dataset_sha256="d1",
    )

    class Killed(Exception):
        pass

    def kill_at_3(step: int, total: int, loss: float) -> None:
        if step == 3:
            raise Killed

    ckpt = tmp_path / "ckpt"
    with pytest.raises(Killed):
        train_elder(
            base=load_model("tiny-test-elder", home=tmp_path),
            examples=examples,
            config=config,
            dataset_sha256="d1",
            checkpoint=ckpt,
            progress=kill_at_3,
        )
    resumed = train_elder(
        base=load_model("tiny-test-elder", home=tmp_path),
        examples=examples,
        config=config,
        dataset_sha256="d1",
        checkpoint=ckpt,
    )
    assert resumed.metrics["resumed_from"] == 3
    assert resumed.metrics["loss_curve"] == pytest.approx(whole.metrics["loss_curve"], abs=1e-4)
    fresh = train_elder(  # another dataset does not pick up that checkpoint
        base=load_model("tiny-test-elder", home=tmp_path),
        examples=examples,
        config=config,
        dataset_sha256="d2",
        checkpoint=ckpt,
    )
    assert fresh.metrics["resumed_from"] == 0


def test_distill_run_versions_elders_and_retrains_on_drift(ecosystem, embedder, tmp_path) -> None:
    config = DistillConfig(
        elder_base="tiny-test-elder",
        per_bot=8,
        epochs=1,
        batch_size=8,
        lora_rank=4,
        retrain_days=None,
    )
    outcomes = run_distill(ecosystem, home=tmp_path, config=config, embedder=embedder)
    assert sorted(o.subset for o in outcomes) == ["elder-airlines", "elder-apple"]
    assert all(o.elder is not None and o.elder.version == 1 for o in outcomes)
    sky = next(o for o in outcomes if o.subset == "elder-airlines")
    assert sky.dataset is not None and len(sky.dataset.examples) == 16  # 8 per bot
    assert sky.elder.bots == ("sky1", "sky2") and sky.elder.niches == ("airlines",)
    assert set(sky.elder.niche_centroids) == {"airlines"} and sky.elder.baseline["n"] == 120
    with session_scope(ecosystem) as s:
        stored = {e.name: e for e in q.list_elders(s)}
    assert stored["elder-airlines"].version == 1 and stored["elder-airlines"].bots == (
        "sky1",
        "sky2",
    )
    assert [r.name for r in elder_records(ecosystem, home=tmp_path)] == [
        "elder-airlines",
        "elder-apple",
    ]
    _, _, weights = ElderStore(Home(tmp_path).elders).load("elder-airlines", home=tmp_path)
    assert weights is not None

    again = run_distill(ecosystem, home=tmp_path, config=config, embedder=embedder)
    assert {o.skipped for o in again} == {"not due"}

    # the airline bots now write about robotaxis: their subset drifts, the Apple one does not
    cars = niche_tweets("self_driving", limit=128)
    add_outputs(ecosystem, "sky1", cars[:64])
    add_outputs(ecosystem, "sky2", cars[64:])
    third = {
        o.subset: o for o in run_distill(ecosystem, home=tmp_path, config=config, embedder=embedder)
    }
    assert third["elder-airlines"].elder is not None and third["elder-airlines"].elder.version == 2
    assert third["elder-airlines"].elder.metrics["parent"] == 1
    assert third["elder-apple"].skipped == "not due"


def test_context_examples_train_on_the_prompt_that_shows_the_timeline(tmp_path) -> None:
    from dataclasses import replace

    from vibeforge.distill.train import _encode
    from vibeforge.learn.prompt import elder_prompt

    base = load_model("tiny-test-elder", home=tmp_path)
    plain = _examples(4)[0]
    shown = replace(plain, context=("gate change again", "lost my bag"))
    (p_plain, c_plain), (p_shown, c_shown) = _encode(base, [plain, shown], max_tokens=96)
    assert c_plain == c_shown  # the same post is learnt, after a different prompt
    assert p_plain == elder_prompt(base.tokenizer, niches=[plain.niche])
    assert p_shown == elder_prompt(base.tokenizer, niches=[plain.niche], context=shown.context)
    assert len(p_shown) > len(p_plain)
