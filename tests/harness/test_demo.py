"""The demo end to end on the tiny world and tiny model, and its HTML report."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vibeforge.harness.demo import QUICK, run_demo
from vibeforge.harness.report import write_report
from vibeforge.models.testing import TINY_TEST_MODEL

TINY = replace(
    QUICK,
    world="tiny",
    model=TINY_TEST_MODEL,
    ner=False,
    days=0.75,
    step_hours=3.0,
    loop=replace(QUICK.loop, max_new_tokens=8, candidates=2, rl_group_size=2, sft_max_steps=2),
)


def test_demo_runs_reports_and_writes_html(tmp_path) -> None:
    config = TINY
    seen: list[str] = []
    result = run_demo(tmp_path, config=config, progress=lambda done, total, what: seen.append(what))
    assert result.rounds == 6 and len(result.round_seconds) == 6
    assert any("baseline" in w for w in seen) and any("learning" in w for w in seen)
    assert {s.bot for s in result.summaries} == {"skybot", "fruitbot"}  # tiny: airlines, apple
    for s in result.summaries:
        assert s.human_posts > 0 and s.human_rate is not None
        assert s.baseline_posts + s.learning_posts >= 1
    path = write_report(result, directory=tmp_path / "reports")
    page = path.read_text()
    assert "<svg" in page and "skybot" in page and "<script" not in page
    assert 'src="http' not in page and 'href="http' not in page  # nothing fetched


def test_the_report_says_why_rl_waited(tmp_path) -> None:
    from vibeforge.harness.demo import BotSummary, DemoResult

    waited = BotSummary(
        bot="skybot",
        niche="airlines",
        rl_rounds=2,
        rl_waited=["reward model v1 held-out Spearman -0.49 < floor 0.10 <b>"],
    )
    ran = BotSummary(bot="fruitbot", niche="apple", rl_rounds=5)
    result = DemoResult(
        home=tmp_path, rounds=8, seconds=60.0, summaries=[waited, ran], round_seconds=[]
    )
    page = write_report(result, directory=tmp_path / "reports").read_text()
    assert "<th>RL rounds</th>" in page and "<td>2</td>" in page and "<td>5</td>" in page
    assert "held-out Spearman -0.49 &lt; floor 0.10 &lt;b&gt;" in page
    assert "fruitbot</b>:" not in page  # a bot that never waited is not listed


def test_the_demo_runs_on_the_bluesky_face(tmp_path) -> None:
    """The same loop through the sandbox's XRPC face with the Bluesky client: list AT URIs,
    `.test` handles, Bluesky post ids and ledger lines, engagement per post."""
    from vibeforge.harness.demo import DemoConfig
    from vibeforge.paths import Home
    from vibeforge.store import make_engine, session_scope
    from vibeforge.store import queries as q

    result = run_demo(tmp_path, config=replace(TINY, platform="bluesky"))
    assert result.platform == "bluesky" and result.unit.startswith("weighted engagement per post")
    assert {s.bot for s in result.summaries} == {"skybot", "fruitbot"}
    for s in result.summaries:
        assert s.human_posts > 0 and s.human_rate is not None
        assert s.baseline_posts >= 1 and s.learning_posts >= 1, s
        assert s.baseline_rate is not None and s.learning_rate is not None
    with session_scope(make_engine(Home(result.home).database_url)) as s:
        bots = {b.name: b for b in q.list_bots(s)}
        timelines = q.list_timelines(s)
        own = q.list_posts(s, bot="skybot")
        read = q.list_posts(s, timeline="airlines", limit=20)
        kinds = {c.kind for c in q.list_api_calls(s)}
    assert bots["skybot"].account == "skybot.test"
    assert all(
        t.source.startswith("at://did:plc:") and "app.bsky.graph.list" in t.source
        for t in timelines
    )
    assert {t.platform for t in timelines} == {"sandbox_bluesky"}
    assert own and all(p.id.startswith("did:plc:") for p in own)  # did/rkey, not X's numbers
    assert read and {p.platform for p in read} == {"bluesky"}
    assert {"bsky_read", "bsky_write"} <= kinds and not kinds & {
        "post_read",
        "user_read",
        "post_create",
    }
    page = write_report(result, directory=tmp_path / "reports").read_text()
    assert "Bluesky (AT Protocol) face" in page and "weighted engagement per post" in page
    with pytest.raises(ValueError, match="platform"):
        DemoConfig(platform="mastodon")
