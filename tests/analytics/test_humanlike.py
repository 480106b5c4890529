"""The human-likeness discriminator: 0.5 when the two sides come from one distribution, near
1 when they differ; refuses too few posts; the same seed gives the same answer."""

from __future__ import annotations

import numpy as np
import pytest

from vibeforge.analytics.humanlike import discriminate, human_likeness, ngram_human_likeness

REFUSALS = [
    f"I'm sorry, but as an AI language model I cannot help with {topic}. "
    "Please consult a qualified professional."
    for topic in (
        "booking flights",
        "your lost luggage",
        "that complaint",
        "refund requests",
        "seat upgrades",
        "travel insurance",
        "visa questions",
        "airline reviews",
        "personal opinions",
        "this request",
        "legal matters",
        "medical advice",
        "pet travel",
        "loyalty points",
        "airport parking",
        "delayed flights",
        "weather forecasts",
        "baggage fees",
        "connecting flights",
        "cancelled trips",
    )
]


def _gauss(n: int, d: int = 32, shift: float = 0.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)) + shift


def test_one_distribution_is_indistinguishable_on_average() -> None:
    # a single null AUC varies (±0.1 at 40 a side); their mean over draws must sit at 0.5
    aucs = [
        discriminate(_gauss(40, seed=2 * k), _gauss(40, seed=2 * k + 1), seed=k, bootstrap=0).auc
        for k in range(8)
    ]
    assert abs(float(np.mean(aucs)) - 0.5) < 0.06, aucs


def test_shifted_distributions_are_told_apart() -> None:
    result = discriminate(_gauss(40, shift=1.0, seed=1), _gauss(60, seed=2))
    assert result.auc > 0.95
    assert (result.n_bot, result.n_human, result.folds) == (40, 60, 5)
    assert len(result.fold_aucs) == 5 and min(result.fold_aucs) > 0.8
    assert result.auc_low <= result.auc <= result.auc_high and result.auc_low > 0.85
    # a small shift is between the two
    weak = discriminate(_gauss(200, shift=0.15, seed=1), _gauss(200, seed=2), bootstrap=0)
    assert 0.55 < weak.auc < 0.9


def test_deterministic_given_a_seed_and_caps_each_side() -> None:
    bot, human = _gauss(30, shift=0.2, seed=3), _gauss(500, seed=4)
    first = discriminate(bot, human, seed=7, max_per_side=100)
    assert first == discriminate(bot, human, seed=7, max_per_side=100)
    assert (first.n_bot, first.n_human) == (30, 100)
    assert discriminate(bot, human, seed=8, max_per_side=100) != first


def test_too_few_posts_or_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match=r"too few posts.*9 bot and 50 human"):
        discriminate(_gauss(9), _gauss(50))
    with pytest.raises(ValueError, match="too few posts"):
        human_likeness(["a tweet"] * 5, ["another"] * 50, embed=lambda t: _gauss(len(t)))
    with pytest.raises(ValueError, match="same width"):
        discriminate(_gauss(20, d=8), _gauss(20, d=9))
    with pytest.raises(ValueError, match="folds"):
        discriminate(_gauss(20), _gauss(20), folds=1)
    nan = _gauss(20)
    nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        discriminate(nan, _gauss(20))


def test_texts_are_embedded_through_the_given_embedder() -> None:
    seen: list[list[str]] = []

    def embed(texts):  # type: ignore[no-untyped-def]
        seen.append(list(texts))
        # "bot" texts sit apart from the others: the embedder decides what can be told apart
        return (
            np.stack([np.eye(4)[0 if t.startswith("bot") else 1] for t in texts])
            + _gauss(len(texts), d=4, seed=len(seen)) * 0.1
        )

    bots = [f"bot {k}" for k in range(12)]
    humans = [f"human {k}" for k in range(300)]
    result = human_likeness(bots, humans, embed=embed, max_per_side=50)
    assert result.auc > 0.95 and (result.n_bot, result.n_human) == (12, 50)
    assert [len(batch) for batch in seen] == [12, 50]  # only the sample is embedded


def test_character_ngrams_see_what_embeddings_smooth_over() -> None:
    """The second opinion: the same tweets, one side every word's vowels doubled (what MiniLM's
    subwords blur, n-grams see at once), against a split of one distribution (~0.5)."""
    from vibeforge.sandbox.corpus import niche_tweets

    tweets = niche_tweets("airlines", limit=160)
    same = ngram_human_likeness(tweets[:80], tweets[80:], bootstrap=0)
    assert 0.3 < same.auc < 0.7, same
    odd = [t.replace("a", "aa").replace("e", "ee") for t in tweets[:80]]
    apart = ngram_human_likeness(odd, tweets[80:], bootstrap=50, seed=3)
    assert apart.auc > 0.95 and apart.auc_low > 0.9 and apart.n_bot == 80, apart
    assert apart == ngram_human_likeness(odd, tweets[80:], bootstrap=50, seed=3)
    with pytest.raises(ValueError, match="too few"):
        ngram_human_likeness(["a tweet"] * 5, tweets)


@pytest.mark.slow
def test_minilm_tells_refusals_from_airline_tweets_but_not_tweets_from_tweets() -> None:
    from vibeforge.sandbox.corpus import niche_tweets

    tweets = niche_tweets("airlines", limit=120)
    same = human_likeness(tweets[:60], tweets[60:])
    assert 0.35 < same.auc < 0.65, same
    apart = human_likeness(REFUSALS, tweets[:60])
    assert apart.auc > 0.95 and apart.auc_low > 0.9, apart
