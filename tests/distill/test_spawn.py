"""Spawning end to end: sandbox bots → outputs → elder → a new bot the loop runs; and the CLI."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from tests.distill.conftest import add_timeline_posts
from tests.loop.conftest import FAST, make_eco

from vibeforge.distill.config import DistillConfig
from vibeforge.distill.dataset import reward_model_predictor
from vibeforge.distill.outputs import bot_outputs, sample_outputs
from vibeforge.distill.pipeline import run_distill
from vibeforge.distill.spawn import SpawnConfig, spawn_bot
from vibeforge.domain import CandidateStatus
from vibeforge.errors import AlreadyExistsError
from vibeforge.learn.prompt import bot_prompt
from vibeforge.loop.cycle import run_round
from vibeforge.loop.executors import make_executor
from vibeforge.paths import Home
from vibeforge.sandbox.corpus import niche_tweets
from vibeforge.store import queries as q
from vibeforge.store import session_scope


def test_spawn_from_the_nearest_elder_end_to_end(tmp_path, embedder) -> None:
    eco = make_eco(tmp_path, config=replace(FAST, dry_run=True))
    ex = make_executor("local", eco.spec)
    try:
        rt = ex.runtime
        run_round(rt, steps=("ingest", "learn"))  # timeline posts in, each bot's SFT adapter
        bank = rt.bank()
        with session_scope(rt.engine) as s:
            bots = q.list_bots(s)
        passed = sample_outputs(
            engine=rt.engine,
            bank=bank,
            bots=bots,
            per_bot=12,
            predict=reward_model_predictor(rt.home),
            prompt_for=lambda b: bot_prompt(bank.base.tokenizer, persona=b.persona),
            max_new_tokens=16,
            seed=0,
        )
        assert set(passed) == {"skybot", "fruitbot"} and min(passed.values()) >= 4
        with session_scope(rt.engine) as s:
            sky = bot_outputs(s, bot=q.get_bot(s, name="skybot"))
        current = bank.version("skybot")
        assert current is not None  # provenance: the adapter version that wrote each output
        assert sky and all(o.adapter_version == current.version for o in sky)

        config = DistillConfig(  # the tiny bots write random words: no niche to filter on
            elder_base="tiny-test-elder",
            k=2,
            min_per_bot=2,
            epochs=1,
            lora_rank=4,
            niche_filter=False,
        )
        outcomes = run_distill(rt.engine, home=rt.home, config=config, embedder=embedder)
        assert all(o.elder is not None for o in outcomes)

        result = spawn_bot(
            rt.engine,
            home=rt.home,
            name="skybot2",
            timeline="airlines",
            bank=bank,
            embedder=embedder,
            platform="sky-bluesky",  # a name of vibeforge.yaml's platforms:, kept on the bot
            config=SpawnConfig(warm_examples=12, max_new_tokens=16, sft_max_steps=3),
        )
        assert result.choice.elder.name in {o.subset for o in outcomes}
        assert 4 <= result.kept <= 12 and result.generated == 36  # oversampled 3x, best kept
        lines = [json.loads(x) for x in result.warm_start.read_text().splitlines()]
        assert len(lines) == result.kept and lines[0]["elder"] == result.choice.elder.name
        ranked = [row["predicted_reward"] for row in lines]  # by the timeline's reward model
        assert ranked == sorted(ranked, reverse=True)
        assert (Home(rt.home).reward_models("skybot2") / "v1.npz").exists()  # handed to the loop
        with session_scope(rt.engine) as s:
            spawned = q.get_bot(s, name="skybot2")
            [version] = q.list_adapter_versions(s, bot="skybot2")
        assert spawned.parent_elder == result.choice.elder.name and spawned.timeline == "airlines"
        assert spawned.platform == "sky-bluesky"
        assert version.kind == "spawn"
        lineage = version.metrics["lineage"]
        assert lineage["elder"] == result.choice.elder.name and lineage["warm_kept"] == result.kept
        assert lineage["elder_version"] == 1 and lineage["niches"]
        assert lineage["ranked_by"].startswith("timeline reward model")

        # the loop takes it from here: it acts with the spawned adapter
        report = run_round(rt, names=["skybot2"], steps=("act",))
        assert report.act["skybot2"].generated > 0
        with session_scope(rt.engine) as s:
            cands = q.list_candidates(s, bot="skybot2")
        assert cands and {c.adapter_version for c in cands} == {1}

        with pytest.raises(AlreadyExistsError):
            spawn_bot(
                rt.engine,
                home=rt.home,
                name="skybot2",
                timeline="airlines",
                bank=bank,
                embedder=embedder,
            )
    finally:
        ex.close()
        eco.sandbox.stop()


def test_distill_cli_plan_run_status_and_spawn(cli, tmp_path) -> None:
    from tests.distill.conftest import add_bot, add_outputs

    from vibeforge.store import make_engine

    assert cli("init")[0] == 0
    with (tmp_path / "vibeforge.yaml").open("a") as f:
        f.write(
            "distill:\n  elder_base: tiny-test-elder\n  embedder: hashing\n  per_bot: 6\n"
            "  epochs: 1\n  lora_rank: 4\n"
        )
    engine = make_engine(Home(tmp_path / ".vibeforge").database_url)
    air, apple = niche_tweets("airlines", limit=200), niche_tweets("apple", limit=200)
    for name, niche, texts in (("sky", "airlines", air[:60]), ("fruit", "apple", apple[:60])):
        add_bot(engine, name, niche)
        add_outputs(engine, name, texts)
    add_outputs(engine, "sky", apple[60:66])  # sky strays into apple's niche
    add_timeline_posts(engine, "airlines", air[100:140])
    add_timeline_posts(engine, "apple", apple[100:140])
    code, out, err = cli("distill", "plan", "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert sorted(s["name"] for s in plan["subsets"]) == ["elder-airlines", "elder-apple"]
    assert all(s["reasons"] for s in plan["subsets"])

    code, out, err = cli("distill", "run", "--json")
    assert code == 0, err
    outcomes = {o["subset"]: o for o in json.loads(out)}
    assert {name: o["examples"] for name, o in outcomes.items()} == {
        "elder-airlines": 6,
        "elder-apple": 6,
    }
    assert outcomes["elder-airlines"]["off_niche"]["sky"] >= 6  # the strays at least
    code, out, _ = cli("distill", "status", "--json")
    status = json.loads(out)
    assert [s["elder"] for s in status] == ["elder-airlines", "elder-apple"]
    assert all(s["centroid_shift"] == pytest.approx(0, abs=1e-4) and not s["due"] for s in status)
    assert cli("distill", "run", "--subset", "nope")[0] == 2

    code, out, err = cli(
        "bot", "spawn", "sky2", "--timeline", "airlines", "--base-model", "tiny-test",
        "--warm", "8", "--json",
    )  # fmt: skip
    assert code == 0, err
    code, _, err = cli("bot", "spawn", "sky3", "--timeline", "airlines", "--platform", "nope")
    assert code != 0 and "nope" in err  # an unknown platform fails before any model work
    spawned = json.loads(out)
    assert spawned["elder"] == "elder-airlines" and spawned["niches"][0] == "airlines"
    shown = json.loads(cli("bot", "show", "sky2", "--json")[1])
    assert shown["parent_elder"] == "elder-airlines" and shown["versions"] == [1]
    with session_scope(engine) as s:
        assert q.list_candidates(s, bot="sky2", status=CandidateStatus.CHOSEN) == []
