"""The guard's fluency check: the frozen base model's log-prob of a text against the niche's
human posts. Fast tests use the tiny model after a few steps on a small grammar of airline
posts (a random one knows no language); the slow one uses the real SmolLM2-135M."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import vibeforge.loop.learn as learn
from vibeforge.domain import Bot, CandidateStatus, Post, Timeline, TimelineKind
from vibeforge.learn.fluency import FluencyConfig, FluencyReference, FluencyScorer
from vibeforge.learn.guard import GuardConfig, failure_shares, guarded_rewards, run_guard
from vibeforge.learn.rl import Completions, group_advantages
from vibeforge.loop.act import act
from vibeforge.loop.config import LoopConfig
from vibeforge.loop.runtime import Runtime
from vibeforge.models.adapters import AdapterStore
from vibeforge.models.bank import AdapterBank
from vibeforge.models.base import Base
from vibeforge.models.generate import Generation, SamplingParams
from vibeforge.models.testing import tiny_base
from vibeforge.privacy.pseudonym import pseudonymizer
from vibeforge.privacy.scrub import Scrubber, ScrubConfig
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
SUBJECTS = ["the flight", "my bag", "the crew", "our gate", "the lounge", "the pilot", "the seat"]
VERBS = ["was late", "was great", "was lost", "was fine", "was so slow", "was early", "was loud"]
TAILS = ["again today.", "this morning.", "on the way home.", "as usual.", "for once.", "at last."]
GRAMMAR = [f"{s} {v} {t}" for s in SUBJECTS for v in VERBS for t in TAILS]
random.Random(0).shuffle(GRAMMAR)
HUMAN, HELD_OUT = GRAMMAR[:240], GRAMMAR[240:]  # the niche's posts; new posts in its language
ONLY_FLUENCY = GuardConfig(checks=("fluency",))
# the tiny model learns the grammar for seconds: its fluent posts spread wider than a real
# model's (down to ~5 robust σ below the median) while garbage lies ~25 σ below; the default
# z is the slow test's subject
TINY = FluencyConfig(z=8)


def _shuffled(text: str, seed: int) -> str:
    chars = list(text)
    random.Random(seed).shuffle(chars)
    return "".join(chars)


def _random_chars(text: str, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(chr(rng.randrange(33, 127)) for _ in text)


GARBLED = [_shuffled(t, i) for i, t in enumerate(HELD_OUT[:20])] + [
    _random_chars(t, i) for i, t in enumerate(HELD_OUT[20:40])
]


@pytest.fixture(scope="module")
def fluent() -> Base:
    """The tiny model after 30 AdamW steps on the grammar's posts (seconds on a CPU)."""
    base = tiny_base(seed=0)
    tok, model = base.tokenizer, base.model
    rng = random.Random(0)
    params = list(model.parameters())
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=1.5e-2)
    model.train()
    for _ in range(30):
        rows = [tok(t, add_special_tokens=False)["input_ids"] for t in rng.sample(HUMAN, 16)]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), base.pad_id)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)], mask[i, : len(r)] = torch.tensor(r), 1
        loss = model(input_ids=ids, attention_mask=mask, labels=ids.masked_fill(mask == 0, -100))
        opt.zero_grad()
        loss.loss.backward()
        opt.step()
    model.eval()
    for p in params:
        p.requires_grad_(False)
    return base


@pytest.fixture(scope="module")
def reference(fluent: Base) -> FluencyReference:
    return FluencyReference.calibrate(FluencyScorer(fluent), HUMAN[:64], config=TINY)


def test_fluent_text_scores_above_garbled_text(fluent: Base) -> None:
    scorer = FluencyScorer(fluent)
    good = scorer.score(HELD_OUT[:40])
    bad = scorer.score(GARBLED)
    assert all(s.tokens == len(t.encode()) - 1 for s, t in zip(good, HELD_OUT, strict=False))
    assert min(s.per_token for s in good) > max(s.per_token for s in bad)
    assert min(s.per_byte for s in good) > max(s.per_byte for s in bad)


def test_batched_scores_equal_each_text_alone_without_the_adapter(fluent: Base) -> None:
    texts = ["the crew was late again today.", "our gate", "the seat 😀 was fine, é"]
    batched = FluencyScorer(fluent, batch_size=8).score(texts)
    for text, got in zip(texts, batched, strict=True):
        ids = fluent.tokenizer(text, add_special_tokens=False)["input_ids"]
        with torch.no_grad():  # no LoraRuntime.use: the hooks add nothing
            logits = fluent.model(input_ids=torch.tensor([ids])).logits[0, :-1]
        want = logits.log_softmax(-1).gather(1, torch.tensor(ids[1:])[:, None]).sum()
        assert got.total == pytest.approx(float(want), abs=1e-3)
        assert got.tokens == len(ids) - 1
    assert batched[2].nbytes == len("he seat 😀 was fine, é".encode())  # all but the first
    [cut] = FluencyScorer(fluent, max_tokens=5).score(texts[:1])
    assert (cut.tokens, cut.nbytes) == (4, len("he c"))


def test_the_reference_passes_new_fluent_posts_and_fails_garbled_ones(
    reference: FluencyReference,
) -> None:
    assert reference.size == 64
    assert reference.per_token.threshold < reference.per_token.median
    good = reference.judge(HELD_OUT[:40])
    bad = reference.judge(GARBLED)
    assert all(ok for ok, _ in good)
    assert not any(ok for ok, _ in bad)
    _, detail = bad[0]
    assert detail["logprob_per_token"] < detail["threshold_per_token"]
    assert set(detail) == {
        "logprob_per_token",
        "threshold_per_token",
        "logprob_per_byte",
        "threshold_per_byte",
        "tokens",
    }


def test_short_texts_shrink_toward_the_human_median(reference: FluencyReference) -> None:
    garbage = "#%zq#%zq#%zq#%zq#%zq"
    texts = [garbage, garbage[:3], "#", ""]
    raw = reference.scorer.score(texts)
    (long_ok, long_d), (_, short_d), (one_ok, one_d), (empty_ok, _) = reference.judge(texts)
    assert not long_ok and one_ok and empty_ok
    k, m = reference.config.prior_tokens, reference.per_token.median
    for text, score, detail in zip(texts, raw, (long_d, short_d), strict=False):
        assert score.tokens == len(text) - 1
        want = (score.tokens * score.per_token + k * m) / (score.tokens + k)
        assert detail["logprob_per_token"] == pytest.approx(want, abs=1e-3)
    # two garbage tokens are pulled further toward the median than nineteen
    assert long_d["logprob_per_token"] < short_d["logprob_per_token"] < m
    assert raw[1].per_token < short_d["logprob_per_token"]
    assert one_d["tokens"] == 0 and one_d["logprob_per_token"] == pytest.approx(m, abs=1e-3)


def test_near_identical_references_keep_a_spread(fluent: Base) -> None:
    ref = FluencyReference.calibrate(FluencyScorer(fluent), [HUMAN[0]] * 16)
    assert ref.per_token.spread == pytest.approx(0.1 * abs(ref.per_token.median))
    assert ref.judge([HUMAN[0]])[0][0]


def test_the_config_checks_itself(fluent: Base) -> None:
    with pytest.raises(ValueError, match="z"):
        FluencyConfig(z=0)
    with pytest.raises(ValueError, match="min_reference"):
        FluencyConfig(min_reference=1)
    with pytest.raises(ValueError, match="reference_posts"):
        FluencyConfig(reference_posts=8, min_reference=16)
    with pytest.raises(ValueError, match="refresh_share"):
        FluencyConfig(refresh_share=0)
    with pytest.raises(ValueError, match="needs min_reference"):
        FluencyReference.calibrate(FluencyScorer(fluent), HUMAN[:10] + ["a", ""] * 5)


def test_the_guard_runs_fluency_by_default_and_skips_it_without_a_reference(
    reference: FluencyReference,
) -> None:
    assert "fluency" in GuardConfig().checks
    [skipped] = run_guard(["a fine post"])
    assert skipped.verdicts["fluency"].detail == {"skipped": "no reference"}
    assert "fluency" not in failure_shares([skipped])
    texts = [HELD_OUT[0], GARBLED[0], HELD_OUT[1], GARBLED[25]]
    results = run_guard(texts, config=ONLY_FLUENCY, fluency=reference)
    assert [r.ok for r in results] == [True, False, True, False]
    assert results[1].failed() == ["fluency"]
    assert failure_shares(results)["fluency"] == 0.5
    assert run_guard([], fluency=reference) == []


def test_a_garbled_rl_sample_gets_the_groups_lowest_reward(reference: FluencyReference) -> None:
    texts = [GARBLED[3], HELD_OUT[0], HELD_OUT[1], HELD_OUT[2]]
    predicted = [90.0, 40.0, 20.0, 30.0]  # the reward model loves the garbage
    rewards = guarded_rewards(predicted, run_guard(texts, config=ONLY_FLUENCY, fluency=reference))
    assert rewards[0] < min(rewards[1:])
    assert rewards[1:] == predicted[1:]


def _runtime(tmp_path: Path, base: Base, posts: Sequence[str], **config: Any) -> Runtime:
    engine = make_engine(f"sqlite:///{tmp_path / 'vibeforge.db'}")
    upgrade(engine)
    with session_scope(engine) as s:
        q.create_timeline(s, timeline=Timeline(name="airlines", kind=TimelineKind.LIST, source="1"))
        q.create_bot(s, bot=Bot(name="sky", timeline="airlines", persona="a frequent flyer"))
    _add_posts(engine, posts)
    bank = AdapterBank(base, AdapterStore(tmp_path / "adapters"))
    return Runtime(
        engine=engine,
        platform=None,  # type: ignore[arg-type]  # dry run: never called
        home=tmp_path,
        clock=lambda: T0 + timedelta(days=1),
        config=LoopConfig(dry_run=True, **config),
        bank_factory=lambda: bank,
        scrubber=Scrubber(ScrubConfig(ner=False)),
        pseudonymize=pseudonymizer("k" * 32),
        fluency_config=TINY,
    )


def _add_posts(engine: Any, texts: Sequence[str], start: int = 0) -> None:
    with session_scope(engine) as s:
        posts = [
            Post(id=str(start + i), text=t, author_id=f"a{i}", created_at=T0 + timedelta(minutes=i))
            for i, t in enumerate(texts)
        ]
        q.add_posts(s, posts=posts, timeline="airlines")


def test_the_runtime_caches_the_reference_and_recalibrates_as_the_timeline_grows(
    tmp_path: Path, fluent: Base
) -> None:
    rt = _runtime(tmp_path, fluent, HUMAN[:10])
    assert rt.fluency("airlines") is None  # 10 posts < min_reference
    assert rt.fluency(None) is None
    _add_posts(rt.engine, HUMAN[10:20], start=10)
    first = rt.fluency("airlines")
    assert first is not None and first.size == 20
    _add_posts(rt.engine, HUMAN[20:29], start=20)  # 9 new < half of 20: the cached one
    assert rt.fluency("airlines") is first
    _add_posts(rt.engine, HUMAN[29:30], start=29)  # 10 new: recalibrated on 30 posts
    second = rt.fluency("airlines")
    assert second is not first and second is not None and second.size == 30
    rt.fluency_config = None
    assert rt.fluency("airlines") is None


def test_act_rejects_a_disfluent_candidate(tmp_path: Path, fluent: Base, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rt = _runtime(tmp_path, fluent, HUMAN[:64], candidates=3)
    bank = rt.bank()
    texts = [GARBLED[5], HELD_OUT[7], HELD_OUT[8]]  # ties on the reward: the first passing wins

    def fake_generate(requests, params):  # type: ignore[no-untyped-def]
        tok = bank.base.tokenizer
        return [
            Generation(
                text=t,
                token_ids=tok(t, add_special_tokens=False)["input_ids"],
                logprobs=[0.0] * len(tok(t, add_special_tokens=False)["input_ids"]),
                prompt_ids=list(p),
                finish_reason="eos",
            )
            for t, (_, p) in zip(texts, requests, strict=True)
        ]

    monkeypatch.setattr(bank, "generate", fake_generate)
    report = act(rt, [Bot(name="sky", timeline="airlines", persona="a frequent flyer")], now=T0)
    with session_scope(rt.engine) as s:
        candidates = {c.text: c for c in q.list_candidates(s, bot="sky")}
    garbled = candidates[re.sub(r"\s+", " ", GARBLED[5]).strip()]
    assert garbled.status == CandidateStatus.REJECTED
    assert garbled.guard["fluency"]["ok"] is False
    assert (
        garbled.guard["fluency"]["logprob_per_token"]
        < garbled.guard["fluency"]["threshold_per_token"]
    )
    assert report["sky"].chosen == HELD_OUT[7] and report["sky"].rejected == 1
    assert candidates[HELD_OUT[7]].guard["fluency"]["ok"] is True


class _RewardModel:
    def __init__(self, predicted: dict[str, float]) -> None:
        self.predicted = predicted

    def predict(self, texts: Sequence[str], *args: Any, **kwargs: Any) -> np.ndarray:
        return np.array([self.predicted[t] for t in texts])


class _Captured(Exception):
    pass


def test_the_loops_rl_reward_ranks_a_garbled_sample_last(
    tmp_path: Path, fluent: Base, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    rt = _runtime(tmp_path, fluent, HUMAN[:64], rl_steps=1, rl_group_size=4)
    rt.bank().create("sky")
    # a character shuffle: no other check fails it (random characters can make a "handle")
    group = {GARBLED[10]: 90.0, HELD_OUT[3]: 40.0, HELD_OUT[4]: 20.0, HELD_OUT[5]: 30.0}
    captured: dict[str, Any] = {}

    class _Trainer:
        def step(self, prompts, *, reward_fn):  # type: ignore[no-untyped-def]
            captured["reward_fn"] = reward_fn
            raise _Captured

    monkeypatch.setattr(learn, "rl_ready", lambda rt, bots, reports: list(bots))
    monkeypatch.setattr(rt, "reward_model", lambda name: _RewardModel(group))
    monkeypatch.setattr(rt, "trainer", lambda: _Trainer())
    bot = Bot(name="sky", timeline="airlines", persona="a frequent flyer")
    with pytest.raises(_Captured):
        learn.rl(rt, [bot], {"sky": learn.LearnReport()})
    rewards = captured["reward_fn"]("sky", Completions(list(group), ["eos"] * len(group)))
    adv = group_advantages(rewards)
    assert adv[0] == min(adv) and rewards[0] < min(rewards[1:])
    assert adv[1] > adv[3] > adv[2]  # the fluent ones keep the reward model's order


def test_scoring_leaves_the_adapter_and_its_generations_unchanged(
    tmp_path: Path, fluent: Base, reference: FluencyReference
) -> None:
    bank = AdapterBank(fluent, AdapterStore(tmp_path / "adapters"))
    weights = bank.create("sky")
    gen = torch.Generator().manual_seed(3)
    for _, b in weights.tensors.values():
        b.copy_(torch.randn(b.shape, generator=gen) * 0.5)  # far from the base
    weights.requires_grad_(True)
    before = weights.clone()
    prompt = fluent.tokenizer("the crew", add_special_tokens=False)["input_ids"]
    greedy = SamplingParams(temperature=0, max_new_tokens=16)
    [alone] = bank.generate([("sky", prompt)], greedy)
    [base_alone] = bank.generate([(None, prompt)], greedy)
    assert alone.token_ids != base_alone.token_ids  # the adapter matters
    rng = torch.get_rng_state()
    scores = reference.scorer.score(HELD_OUT[:8])
    reference.judge(GARBLED[:8])
    assert torch.equal(torch.get_rng_state(), rng)
    for path, (a, b) in weights.tensors.items():
        assert torch.equal(a, before.tensors[path][0]) and torch.equal(b, before.tensors[path][1])
        assert a.requires_grad and b.requires_grad and a.grad is None and b.grad is None
    [again] = bank.generate([("sky", prompt)], greedy)
    assert again.token_ids == alone.token_ids and again.logprobs == alone.logprobs
    # the scorer reads the base model, never a batch's adapter: inside one it refuses
    assert [s.total for s in FluencyScorer(fluent).score(HELD_OUT[:8])] == [s.total for s in scores]
    with fluent.runtime.use([weights]), pytest.raises(RuntimeError, match="re-entrant"):
        reference.scorer.score(HELD_OUT[:1])


@pytest.mark.slow
def test_smollm2_passes_human_posts_and_fails_garbled_text_and_word_salad(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from vibeforge.models.base import load_base, prepare
    from vibeforge.privacy.patterns import postable
    from vibeforge.sandbox.corpus import niche_tweets

    home = tmp_path_factory.mktemp("home")
    prepare("smollm2-135m", home=home)
    smol = load_base("smollm2-135m", home=home)
    scrubber = Scrubber(ScrubConfig(ner=False))
    # as the timeline shows them to a bot: scrubbed, placeholders dropped
    humans = [postable(scrubber.scrub(t).text) for t in niche_tweets("airlines", limit=110)]
    humans = [t for t in humans if t]
    ref = FluencyReference.calibrate(FluencyScorer(smol), humans[:64])
    held_out = humans[64:94]
    rng = random.Random(0)
    vocab = sorted(smol.tokenizer.get_vocab())
    words = [t[1:] for t in vocab if t.startswith("Ġ") and t[1:].isalpha() and len(t) > 5]
    pieces = list(range(100, len(smol.tokenizer)))

    def n_tokens(text: str) -> int:
        return len(smol.tokenizer(text, add_special_tokens=False)["input_ids"])

    garbled = {
        "characters shuffled": [_shuffled(t, i) for i, t in enumerate(held_out)],
        "token soup": [smol.tokenizer.decode(rng.sample(pieces, n_tokens(t))) for t in held_out],
        "word salad": [" ".join(rng.sample(words, len(t.split()) + 3)) for t in held_out],
    }

    def pass_share(texts: list[str]) -> float:
        return sum(ok for ok, _ in ref.judge(texts)) / len(texts)

    assert pass_share(held_out) >= 0.9  # measured: all 40 of 40 (airlines and Apple niches)
    for kind, texts in garbled.items():  # measured: 100%, 93-97%, 90-97% fail
        assert pass_share(texts) <= 0.2, kind
