"""RL trusts the reward model only while it agrees with the audience.

A reward model below the held-out Spearman floor runs no RL (the report says why); one whose
predictions disagree with the realised rewards of the bot's own published posts pauses RL and
is refitted on the next learn step, whatever the count of new labels. Tiny model, real MiniLM.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vibeforge.domain import Bot, Metrics, Post, Timeline, TimelineKind
from vibeforge.learn.reward_model import RewardModel, fit_reward_model
from vibeforge.loop import learn
from vibeforge.loop.config import LoopConfig
from vibeforge.loop.runtime import Runtime
from vibeforge.models.adapters import AdapterStore
from vibeforge.models.bank import AdapterBank
from vibeforge.models.testing import random_lora, tiny_base
from vibeforge.paths import Home
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
CITIES = ("Denver", "Boston", "Lisbon", "Tokyo", "Oslo", "Lima", "Cairo", "Perth", "Quito", "Nice")
BRANDS = ("Waymo", "Tesla", "Cruise", "Zoox", "Baidu", "Uber", "Aurora", "Nuro", "Pony", "Motional")
CONFIG = LoopConfig(
    candidates=2,
    max_new_tokens=8,
    rl_group_size=2,
    rm_min_new_labels=1000,  # no refit unless the agreement monitor forces one
    off_policy_min=2,
)


def _flight(i: int, n: int) -> str:
    return f"My flight to {CITIES[i % 10]} was delayed {n} hours and the gate agent shrugged"


def _car(i: int, n: int) -> str:
    return f"The {BRANDS[i % 10]} self-driving car drove {n} miles on the highway with nobody in it"


def _post(pid: str, text: str, likes: int, at: datetime) -> Post:
    metrics = Metrics(observed_at=at + timedelta(hours=1), like_count=likes, impression_count=1000)
    return Post(id=pid, text=text, author_id="a", created_at=at, metrics=metrics)


@pytest.fixture
def rt(tmp_path: Path) -> Runtime:
    """Bot `sky` on timeline `air` (flight talk earns, car talk does not), with an adapter."""
    engine = make_engine(Home(tmp_path).database_url)
    upgrade(engine)
    timeline = [_post(f"f{i}", _flight(i, 2 + i), 20 + i % 3, NOW) for i in range(15)]
    timeline += [_post(f"c{i}", _car(i, 10 + i), 1 + i % 3, NOW) for i in range(15)]
    with session_scope(engine) as s:
        q.create_timeline(s, timeline=Timeline(name="air", kind=TimelineKind.LIST, source="1"))
        q.create_bot(s, bot=Bot(name="sky", timeline="air", account="sky", persona="a flyer"))
        q.add_posts(s, posts=timeline, timeline="air")
    base = tiny_base()
    store = AdapterStore(Home(tmp_path).adapters)
    store.save("sky", random_lora(base, seed=1, scale=0.05))
    return Runtime(
        engine=engine,
        platform=None,  # type: ignore[arg-type]  # never called
        home=tmp_path,
        clock=lambda: NOW,
        scrubber=None,  # type: ignore[arg-type]
        pseudonymize=None,  # type: ignore[arg-type]
        config=CONFIG,
        bank_factory=lambda: AdapterBank(base, store),
    )


def _bot(rt: Runtime) -> Bot:
    with session_scope(rt.engine) as s:
        return q.get_bot(s, name="sky")


def _save_model(rt: Runtime, *, spearman: float | None) -> RewardModel:
    """A reward model fitted on the timeline, its held-out Spearman set to `spearman`."""
    texts, rewards, own = learn.labelled_posts(rt, _bot(rt))
    model = fit_reward_model(bot="sky", texts=texts, rewards=rewards, own=own)
    model.info = dataclasses.replace(model.info, spearman=spearman)
    model.save(rt.reward_model_dir("sky"))
    return model


def _adapter_versions(rt: Runtime) -> list[int]:
    return AdapterStore(Home(rt.home).adapters).version_numbers("sky")


def _publish(rt: Runtime, posts: list[tuple[str, str, int]]) -> None:
    """The bot's own posts (id, text, likes at 1 h), so they have realised rewards."""
    at = NOW - timedelta(hours=2)
    with session_scope(rt.engine) as s:
        q.add_posts(s, posts=[_post(pid, text, likes, at) for pid, text, likes in posts], bot="sky")


def test_reward_model_below_the_floor_runs_no_rl(rt: Runtime) -> None:
    _save_model(rt, spearman=-0.49)
    before = _adapter_versions(rt)
    reports = {"sky": learn.LearnReport()}
    learn.rl(rt, [_bot(rt)], reports)
    assert _adapter_versions(rt) == before  # no RL version saved
    assert reports["sky"].rl_mean_reward == {}
    assert reports["sky"].rl_waiting == "reward model v1 held-out Spearman -0.49 < floor 0.10"


def test_unknown_or_non_positive_spearman_waits_too(rt: Runtime) -> None:
    model = _save_model(rt, spearman=None)
    floor_zero = dataclasses.replace(CONFIG, rm_min_spearman=0.0)
    assert "no held-out Spearman" in (learn.held_out_gate(model, 0.1) or "")
    rt.config = floor_zero
    reports = {"sky": learn.LearnReport()}
    model.info = dataclasses.replace(model.info, spearman=0.0, version=2)
    model.save(rt.reward_model_dir("sky"))
    learn.rl(rt, [_bot(rt)], reports)
    assert reports["sky"].rl_waiting == "reward model v2 held-out Spearman 0.00 is not positive"
    assert _adapter_versions(rt) == [1]


def test_agreement_monitor_pauses_rl_and_forces_a_refit(rt: Runtime) -> None:
    bot = _bot(rt)
    _save_model(rt, spearman=0.8)  # held-out it looks fine: flight talk earns
    # the bot's own posts: the audience has turned, its flight talk earns little, car talk a lot
    _publish(rt, [(f"o{i}", _flight(i + 3, 40 + i), 2 + i) for i in range(3)])
    _publish(rt, [(f"o{i}", _car(i + 3, 60 + i), 30 + i) for i in range(3, 5)])
    reports = {"sky": learn.LearnReport()}
    learn.rl(rt, [bot], reports)  # 5 posts < rm_monitor_min_posts: recorded, RL still runs
    first = reports["sky"]
    assert first.rm_agreement is not None and first.rm_agreement < 0
    assert first.rm_agreement_posts == 5 and first.rl_waiting is None
    assert _adapter_versions(rt) == [1, 2]  # RL saved a version

    _publish(rt, [(f"o{i}", _flight(i + 3, 40 + i), 2 + i) for i in range(5, 7)])
    _publish(rt, [(f"o{i}", _car(i + 3, 60 + i), 30 + i) for i in range(7, 10)])
    reports = {"sky": learn.LearnReport()}
    learn.rl(rt, [bot], reports)  # 10 posts, agreement below the floor: RL pauses
    second = reports["sky"]
    assert second.rm_agreement is not None and second.rm_agreement < 0.1
    assert second.rm_agreement_posts == 10
    assert second.rl_waiting is not None and "published posts" in second.rl_waiting
    assert second.rl_waiting.startswith("reward model v1 agrees with the realised rewards")
    assert _adapter_versions(rt) == [1, 2]  # no RL this round
    with session_scope(rt.engine) as s:
        state = q.get_flag(s, name="rm_agreement:sky")
    assert state is not None and state["paused"]["version"] == 1
    assert [(h["version"], h["posts"]) for h in state["history"]] == [(1, 5), (1, 10)]

    reports = {"sky": learn.LearnReport()}
    learn.rl(rt, [bot], reports)  # still paused until the refit
    assert reports["sky"].rl_waiting == second.rl_waiting and _adapter_versions(rt) == [1, 2]

    refit = learn.LearnReport()
    learn.refit_reward_model(rt, bot, refit)  # 10 new labels < rm_min_new_labels: forced
    assert refit.reward_model_version == 2 and refit.reward_model_forced
    model = rt.reward_model("sky")
    assert model is not None and model.info.version == 2
    held = {"o1", "o4", "o6"}  # rm_monitor_holdout 0.25 of o0..o9, by a hash of the id
    assert {f"o{i}" for i in range(10) if learn.held_out(f"o{i}", 0.25)} == held
    assert sorted(model.info.extra["own_posts"]) == sorted({f"o{i}" for i in range(10)} - held)
    with session_scope(rt.engine) as s:
        assert (q.get_flag(s, name="rm_agreement:sky") or {})["paused"] is None
    # the new version is judged only on posts it was not trained on: the 3 held out, fewer
    # than rm_monitor_min_posts, so recorded but no pause
    judged = learn.LearnReport()
    assert learn.monitor_agreement(rt, bot, model, judged) is None
    assert judged.rm_agreement_posts == 3
    again = learn.LearnReport()
    learn.refit_reward_model(rt, bot, again)  # no longer forced, too few new labels
    assert again.reward_model_version is None


def test_upper_bound_of_a_spearman_widens_with_few_posts() -> None:
    assert learn.upper_bound(-0.05, 8, 0.0) == -0.05  # 0: the point estimate
    assert learn.upper_bound(-0.05, 8, 0.8) == pytest.approx(0.3152, abs=1e-3)
    assert learn.upper_bound(-0.05, 100, 0.8) == pytest.approx(0.0354, abs=1e-3)
    assert learn.upper_bound(-0.9, 10, 0.9) < -0.7  # a clear disagreement stays clear
    assert learn.upper_bound(0.5, 3, 0.9) == 0.5  # n <= 3: no interval


@pytest.mark.parametrize(
    ("flights", "cars", "pauses_at_point", "pauses_when_sure"),
    [
        ((2, 30, 3, 31), (2, 30, 3, 31), True, False),  # car talk earns as much: noise
        ((2, 3, 4, 5), (30, 58, 31, 59), True, True),  # car talk earns far more: clearly wrong
    ],
)
def test_a_monitor_that_must_be_sure_pauses_on_clear_disagreement_only(
    rt: Runtime,
    flights: tuple[int, ...],
    cars: tuple[int, ...],
    pauses_at_point: bool,
    pauses_when_sure: bool,
) -> None:
    bot = _bot(rt)
    _save_model(rt, spearman=0.8)  # the model: flight talk earns, car talk does not
    _publish(rt, [(f"o{i}", _flight(i + 3, 40 + i), n) for i, n in enumerate(flights)])
    _publish(rt, [(f"o{i + 4}", _car(i + 3, 60 + i), n) for i, n in enumerate(cars)])
    model = rt.reward_model("sky")
    assert model is not None
    verdicts = []
    for confidence in (0.0, 0.8):
        rt.config = dataclasses.replace(CONFIG, rm_monitor_confidence=confidence)
        report = learn.LearnReport()
        verdicts.append(learn.monitor_agreement(rt, bot, model, report) is not None)
        assert report.rm_agreement_posts == 8
        with session_scope(rt.engine) as s:  # each verdict from a clean slate
            q.set_flag(s, name="rm_agreement:sky", value=None)
    assert verdicts == [pauses_at_point, pauses_when_sure], report.rm_agreement


def test_agreement_history_is_capped(rt: Runtime) -> None:
    for i in range(learn.AGREEMENT_HISTORY + 5):
        learn._update_agreement(rt, "sky", entry={"i": i})
    with session_scope(rt.engine) as s:
        state = q.get_flag(s, name="rm_agreement:sky") or {}
    assert len(state["history"]) == learn.AGREEMENT_HISTORY and state["history"][-1]["i"] == 104


def test_loop_config_validates_the_trust_fields() -> None:
    with pytest.raises(ValueError, match="rm_min_spearman"):
        LoopConfig(rm_min_spearman=-0.5)
    with pytest.raises(ValueError, match="rm_monitor_min_posts"):
        LoopConfig(rm_monitor_min_posts=1)
    with pytest.raises(ValueError, match="rm_heads"):
        LoopConfig(rm_heads=0)


def test_held_out_own_posts_let_the_monitor_judge_every_refit(rt: Runtime) -> None:
    """Each refit trains on every labelled post but the held-out share; without the holdout a
    refit every round left the monitor nothing to judge by (no agreement ever recorded)."""
    bot = _bot(rt)
    rt.config = dataclasses.replace(CONFIG, rm_min_new_labels=1)
    _publish(rt, [(f"o{i}", _flight(i, 3 + i), 20 + i % 5) for i in range(10)])
    _publish(rt, [(f"o{i}", _car(i, 30 + i), 1 + i % 5) for i in range(10, 20)])
    report = learn.LearnReport()
    learn.refit_reward_model(rt, bot, report)
    model = rt.reward_model("sky")
    assert model is not None and report.reward_model_version == 1
    held = {f"o{i}" for i in range(20) if learn.held_out(f"o{i}", 0.25)}
    assert len(held) == 6 and not held & set(model.info.extra["own_posts"])
    assert len(model.info.extra["own_posts"]) == 14
    judged = learn.LearnReport()
    assert learn.monitor_agreement(rt, bot, model, judged) is None
    assert judged.rm_agreement_posts == 6  # the held-out posts, realised rewards known
    assert judged.rm_agreement is not None and judged.rm_agreement > 0  # flights earn here too
    # holdout 0: every own post trained on, nothing left to judge
    rt.config = dataclasses.replace(CONFIG, rm_min_new_labels=1, rm_monitor_holdout=0.0)
    learn.refit_reward_model(rt, bot, learn.LearnReport())
    model = rt.reward_model("sky")
    assert model is not None and len(model.info.extra["own_posts"]) == 20
    none_left = learn.LearnReport()
    learn.monitor_agreement(rt, bot, model, none_left)
    assert none_left.rm_agreement is None
