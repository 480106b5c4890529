"""RL's human-likeness critic: a discriminator of the niche's humans vs the bot's own samples,
on the real packaged MiniLM embedder."""

from __future__ import annotations

import numpy as np
import pytest

from vibeforge.embedding import shared_embedder
from vibeforge.learn.critic import CriticConfig, HumanCritic, blend

HUMANS = [
    f"{what} at {where} again, {mood}"
    for what in ("two hour delay", "lost my bag", "gate change", "missed connection")
    for where in ("JFK", "O'Hare", "Heathrow", "Denver", "Atlanta")
    for mood in ("classic.", "love this airline.", "send help")
]  # 60 statements, none a question
BOT = [
    f"What do you think about {topic}? Tell me in the replies!"
    for topic in (
        "airline food",
        "window seats",
        "boarding groups",
        "carry-on fees",
        "red-eye flights",
        "lounge access",
        "seat recline",
        "airport coffee",
        "frequent flyer miles",
        "middle seats",
        "overhead bins",
        "in-flight wifi",
        "early boarding",
        "jet lag",
        "layovers",
        "travel pillows",
        "security lines",
        "baggage claim",
        "legroom",
        "pilots' announcements",
    )
]


def test_texts_like_the_humans_score_above_texts_like_the_bots_samples() -> None:
    critic = HumanCritic(shared_embedder(), CriticConfig(min_per_side=16))
    critic.observe("sky", shared_embedder().encode(BOT))
    new = [
        "three hour delay at Newark again, classic.",
        "What do you think about aisle seats? Tell me in the replies!",
        "my flight got cancelled and nobody at the desk knows anything",
    ]
    human_like, bot_like, other = critic.log_odds("sky", new, HUMANS)
    assert human_like > 1 and other > 1 and bot_like < -1
    # scored texts join the bot's buffer afterwards (it follows the policy as it moves): the
    # same human-like text now counts against itself
    assert len(critic._bot["sky"]) == len(BOT) + 3
    again = critic.log_odds("sky", new[:1], HUMANS)[0]
    assert again < human_like


def test_the_critic_is_silent_until_both_sides_have_enough_texts() -> None:
    critic = HumanCritic(shared_embedder(), CriticConfig(min_per_side=16))
    assert critic.log_odds("sky", BOT[:4], HUMANS).tolist() == [0.0] * 4  # 4 bot texts so far
    assert critic.log_odds("sky", BOT[4:8], HUMANS[:10]).tolist() == [0.0] * 4  # 10 humans


def test_blend_moves_rewards_by_log_odds_in_units_of_the_group_spread() -> None:
    config = CriticConfig(weight=0.5, clip=2.0)
    rm = [10.0, 30.0, 20.0]  # spread 20
    out = blend(rm, np.array([0.0, 1.0, 9.0]), config=config)
    # h centred on the group's median (1.0) and clipped to ±2: -1, 0, +2
    assert out == pytest.approx([10.0 - 10.0, 30.0, 20.0 + 20.0])
    assert blend([5.0, 5.0], np.array([0.0, 2.0]), config=config) == pytest.approx(
        [5.0 - 0.5, 5.0 + 0.5]  # a flat group still feels h (min_scale 1)
    )
    off = HumanCritic(shared_embedder(), CriticConfig(weight=0.0))
    assert off.rewards("sky", rm, ["a", "b", "c"], HUMANS) == rm
    with pytest.raises(ValueError, match="weight"):
        CriticConfig(weight=-1)
