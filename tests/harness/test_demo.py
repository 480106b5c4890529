"""The demo end to end on the tiny world and tiny model, and its HTML report."""

from __future__ import annotations

from dataclasses import replace

from vibeforge.harness.demo import QUICK, run_demo
from vibeforge.harness.report import write_report
from vibeforge.models.testing import TINY_TEST_MODEL


def test_demo_runs_reports_and_writes_html(tmp_path) -> None:
    config = replace(
        QUICK,
        world="tiny",
        model=TINY_TEST_MODEL,
        ner=False,
        days=0.75,
        step_hours=3.0,
        loop=replace(QUICK.loop, max_new_tokens=8, candidates=2, rl_group_size=2, sft_max_steps=2),
    )
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
