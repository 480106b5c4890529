"""Composite datasets: best guard-passing outputs, deduplicated, balanced, with provenance."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from tests.distill.conftest import BAD_GUARD, add_bot, add_outputs, add_timeline_posts, publish

from vibeforge.distill.config import DistillConfig
from vibeforge.distill.dataset import (
    DatasetStore,
    add_context,
    drop_off_niche,
    gather_outputs,
    select_examples,
    timeline_centroids,
    timeline_samples,
)
from vibeforge.domain import CandidateStatus, Timeline, TimelineKind
from vibeforge.sandbox.corpus import niche_tweets
from vibeforge.store import queries as q
from vibeforge.store import session_scope


@pytest.fixture
def two_bots(sqlite_engine):
    air, apple = niche_tweets("airlines", limit=60), niche_tweets("apple", limit=60)
    add_bot(sqlite_engine, "sky", "airlines")
    add_bot(sqlite_engine, "fruit", "apple")
    sky = add_outputs(sqlite_engine, "sky", air[:12], rewards=[float(i) for i in range(12)])
    # fruit: 6 good outputs, one of them a copy of sky's best, plus 5 rejected by the guard
    add_outputs(sqlite_engine, "fruit", apple[:5], rewards=[0.5] * 5, adapter_version=7)
    add_outputs(sqlite_engine, "fruit", [air[11].upper()], rewards=[0.1])
    add_outputs(
        sqlite_engine,
        "fruit",
        apple[5:10],
        rewards=[99.0] * 5,
        status=CandidateStatus.REJECTED,
        guard=BAD_GUARD,
    )
    # a published post of sky whose real engagement beats every prediction
    publish(sqlite_engine, sky[0], post_id="900", reward=50.0)
    return sqlite_engine, air, apple


def test_selection_is_best_first_deduplicated_and_balanced(two_bots) -> None:
    engine, air, apple = two_bots
    outputs = gather_outputs(engine, bots=["sky", "fruit"])
    sel = select_examples(outputs, config=DistillConfig(per_bot=8, min_per_bot=3))
    by_bot = {b: [e for e in sel.examples if e.bot == b] for b in ("sky", "fruit")}
    assert sel.available == {"sky": 8, "fruit": 5}  # fruit's copy of sky's post is dropped
    assert sel.quota == 5 and len(by_bot["sky"]) == len(by_bot["fruit"]) == 5  # balanced
    texts = {e.text for e in sel.examples}
    assert not texts & set(apple[5:10])  # nothing the guard rejected
    assert air[11].upper() not in texts
    top = by_bot["sky"][0]  # real engagement (6 h reward) ranks first despite predicting 0
    assert top.text == air[0] and top.engagement == 50.0 and top.predicted_reward == 0.0
    assert top.post_id == "900" and top.score == 50.0
    assert [e.text for e in by_bot["sky"][1:]] == [air[11], air[10], air[9], air[8]]
    assert {e.niche for e in by_bot["sky"]} == {"airlines"}
    assert {e.niche for e in by_bot["fruit"]} == {"apple"}
    assert {e.adapter_version for e in by_bot["fruit"]} == {7}
    assert all(e.candidate_id is not None for e in sel.examples)


def test_bots_with_too_few_outputs_are_left_out(two_bots) -> None:
    engine, _, _ = two_bots
    outputs = gather_outputs(engine, bots=["sky", "fruit"])
    sel = select_examples(outputs, config=DistillConfig(per_bot=8, min_per_bot=6))
    assert set(sel.left_out) == {"fruit"} and "5 usable outputs" in sel.left_out["fruit"]
    assert {e.bot for e in sel.examples} == {"sky"} and sel.quota == 8


def test_missing_predictions_are_filled_by_the_predictor(two_bots) -> None:
    engine, _, _ = two_bots
    add_bot(engine, "blank", "airlines")
    add_outputs(
        engine, "blank", ["a new post about gates", "late again, of course"], rewards=[None, None]
    )  # type: ignore[list-item]
    seen = []

    def predict(bot, texts):
        seen.append(bot)
        return [float(len(t)) for t in texts]

    outs = gather_outputs(engine, bots=["blank"], predict=predict)["blank"]
    assert seen == ["blank"]
    assert sorted(o.predicted_reward for o in outs) == [21.0, 22.0]


def test_dataset_store_round_trip_with_provenance(two_bots, tmp_path) -> None:
    engine, _, _ = two_bots
    sel = select_examples(
        gather_outputs(engine, bots=["sky", "fruit"]), config=DistillConfig(min_per_bot=3)
    )
    store = DatasetStore(tmp_path / "datasets")
    ds = store.save(subset="elder-x", selection=sel)
    assert ds.version == 1 and store.save(subset="elder-x", selection=sel).version == 2
    row = json.loads(ds.path.read_text().splitlines()[0])
    assert {
        "bot",
        "adapter_version",
        "candidate_id",
        "predicted_reward",
        "engagement",
        "niche",
    } <= set(row)
    loaded = store.load(1)
    assert loaded.examples == sel.examples and loaded.manifest["quota"] == sel.quota
    assert loaded.manifest["bots"] == ["fruit", "sky"]
    ds.path.write_text(ds.path.read_text().replace("airlines", "airlinez"))
    with pytest.raises(ValueError, match="sha256"):
        store.load(1)


def test_a_share_of_examples_show_their_niches_timeline(two_bots, tmp_path) -> None:
    engine, air, apple = two_bots
    sel = select_examples(
        gather_outputs(engine, bots=["sky", "fruit"]), config=DistillConfig(min_per_bot=3)
    )
    timelines = {"airlines": air[20:40], "apple": [*apple[20:40], apple[0]]}
    config = DistillConfig(min_per_bot=3, context_posts=2, context_share=0.5, seed=3)
    with_context = add_context(sel, timelines=timelines, config=config)
    shown = [e for e in with_context.examples if e.context]
    assert 0 < len(shown) < len(sel.examples)  # a share, not all or none
    for e in shown:
        assert len(e.context) == 2 and set(e.context) <= set(timelines[e.niche])
        assert e.text not in e.context  # an example never shows its own post
    # the same outputs over the same timeline give the same dataset, and the rest is untouched
    assert add_context(sel, timelines=timelines, config=config) == with_context
    strip = [replace(e, context=()) for e in with_context.examples]
    assert tuple(strip) == sel.examples
    everyone = add_context(sel, timelines=timelines, config=replace(config, context_share=1.0))
    assert all(e.context for e in everyone.examples)
    store = DatasetStore(tmp_path / "datasets")
    store.save(subset="elder-x", selection=with_context)
    assert store.load().examples == with_context.examples  # context survives the round trip


def test_timeline_samples_are_postable(sqlite_engine) -> None:
    add_bot(sqlite_engine, "sky", "airlines")
    add_timeline_posts(sqlite_engine, "airlines", ["@user @user late again <url>", "<url>"])
    assert timeline_samples(sqlite_engine, niches=["airlines"]) == {"airlines": ["late again"]}


def test_outputs_nearer_another_niche_are_left_out(sqlite_engine, embedder) -> None:
    air, apple = niche_tweets("airlines", limit=80), niche_tweets("apple", limit=80)
    add_bot(sqlite_engine, "sky", "airlines")
    add_bot(sqlite_engine, "fruit", "apple")
    add_timeline_posts(sqlite_engine, "airlines", air[40:80])
    add_timeline_posts(sqlite_engine, "apple", apple[40:80])
    # sky wanders: 8 airline posts and 4 that read like the apple timeline
    add_outputs(sqlite_engine, "sky", [*air[:8], *apple[:4]], rewards=[1.0] * 12)
    add_outputs(sqlite_engine, "fruit", apple[4:12], rewards=[1.0] * 8)
    with session_scope(sqlite_engine) as s:  # a timeline no bot follows is no niche, no rival
        q.create_timeline(s, timeline=Timeline(name="news", kind=TimelineKind.LIST, source="n"))
    add_timeline_posts(sqlite_engine, "news", air[:8])
    outputs = gather_outputs(sqlite_engine, bots=["sky", "fruit"])
    centroids = timeline_centroids(sqlite_engine, embedder=embedder)
    assert set(centroids) == {"airlines", "apple"}
    kept, dropped = drop_off_niche(outputs, centroids=centroids, embedder=embedder)
    sky = {o.text for o in kept["sky"]}
    assert not sky & set(apple[:4]) and len(sky & set(air[:8])) >= 6
    assert dropped["sky"] == 12 - len(sky)
    # a margin also leaves out outputs that are only just nearer their own niche
    strict, more = drop_off_niche(outputs, centroids=centroids, embedder=embedder, margin=0.05)
    assert {o.text for o in strict["sky"]} < sky and more["sky"] > dropped["sky"]
    assert drop_off_niche(outputs, centroids=centroids, embedder=embedder, margin=0.9)[0] == {
        "sky": [],
        "fruit": [],
    }
    # one niche alone has nothing to be confused with: everything stays
    alone, none = drop_off_niche(
        outputs, centroids={"airlines": centroids["airlines"]}, embedder=embedder
    )
    assert alone == {b: list(o) for b, o in outputs.items()} and none == {}


def test_a_subset_the_niche_filter_empties_says_why(sqlite_engine, embedder, tmp_path) -> None:
    from vibeforge.distill.cluster import make_plan
    from vibeforge.distill.pipeline import train_subset

    air, apple = niche_tweets("airlines", limit=80), niche_tweets("apple", limit=80)
    add_bot(sqlite_engine, "sky", "airlines")
    add_bot(sqlite_engine, "fruit", "apple")  # no outputs: in no subset
    add_timeline_posts(sqlite_engine, "airlines", air[40:80])
    add_timeline_posts(sqlite_engine, "apple", apple[40:80])
    add_outputs(sqlite_engine, "sky", apple[:8], rewards=[1.0] * 8)  # all of it reads like apple
    config = DistillConfig(elder_base="tiny-test-elder", min_per_bot=2, min_outputs=2)
    plan = make_plan(sqlite_engine, embedder=embedder, config=config)
    outcome = train_subset(
        sqlite_engine,
        home=tmp_path,
        plan=plan,
        subset=plan.subsets[0],
        config=config,
        embedder=embedder,
    )
    found = re.search(r"\((\d+) were off niche: lower distill.niche_margin", outcome.skipped or "")
    assert outcome.elder is None and found and int(found.group(1)) >= 7


def test_a_grown_timeline_alone_keeps_the_dataset(two_bots, tmp_path) -> None:
    from vibeforge.distill.pipeline import keep_or_save_dataset

    engine, air, apple = two_bots
    sel = select_examples(
        gather_outputs(engine, bots=["sky", "fruit"]), config=DistillConfig(min_per_bot=3)
    )
    config = DistillConfig(min_per_bot=3, context_share=1.0)
    before = add_context(
        sel, timelines={"airlines": air[20:30], "apple": apple[20:30]}, config=config
    )
    grown = add_context(
        sel, timelines={"airlines": air[20:60], "apple": apple[20:60]}, config=config
    )
    assert grown.examples != before.examples  # the prompts would show other posts
    store = DatasetStore(tmp_path / "datasets")
    first = keep_or_save_dataset(store, subset="elder-x", selection=before, config=config)
    again = keep_or_save_dataset(store, subset="elder-x", selection=grown, config=config)
    assert again.version == first.version == 1 and again.sha256 == first.sha256
    # other outputs, other context settings, or examples that gain context make a new dataset
    fewer = replace(before, examples=before.examples[1:])
    assert (
        keep_or_save_dataset(store, subset="elder-x", selection=fewer, config=config).version == 2
    )
    seeded = replace(config, seed=9)
    assert (
        keep_or_save_dataset(store, subset="elder-x", selection=fewer, config=seeded).version == 3
    )
    bare = replace(config, context_share=0.0)
    assert keep_or_save_dataset(store, subset="elder-x", selection=sel, config=bare).version == 4
    assert keep_or_save_dataset(store, subset="elder-x", selection=before, config=bare).version == 5
