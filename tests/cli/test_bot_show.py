"""`vibeforge bot show`: the learning curve as a chart in the terminal, as JSON and as a PNG."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vibeforge.cli.plot import BLOCKS, MEAN_MARK, text_chart
from vibeforge.domain import (
    AdapterVersion,
    Candidate,
    CandidateStatus,
    Post,
    Publication,
    PublicationStatus,
    Reward,
)
from vibeforge.paths import Home

T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
N = 12  # posts of "sky": rewards 0.1, 0.2, ... (it learns); v1 sft wrote 1-6, v2 rl 7-12


@pytest.fixture
def project(cli, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    from vibeforge.store import make_engine, session_scope
    from vibeforge.store import queries as q

    assert cli("init")[0] == 0
    assert cli("bot", "create", "sky")[0] == 0
    assert cli("bot", "create", "idle")[0] == 0
    engine = make_engine(Home(tmp_path / ".vibeforge").database_url)
    with session_scope(engine) as s:
        posts = [
            Post(id=f"p{k}", text=f"post {k}", author_id="me", created_at=T0 + timedelta(hours=k))
            for k in range(1, N + 1)
        ]
        q.add_posts(s, posts=posts, bot="sky")
        for k, post in enumerate(posts, start=1):
            q.add_reward(
                s,
                reward=Reward(bot="sky", post_id=post.id, value=k / 10, preset="x", age_s=3600),
            )
        for v, kind in ((1, "sft"), (2, "rl")):
            q.add_adapter_version(
                s,
                adapter=AdapterVersion(
                    bot="sky",
                    version=v,
                    path=f"/a/{v}",
                    sha256="ab" * 32,
                    kind=kind,
                    metrics={"rl_mean_reward": 0.9} if kind == "rl" else {},
                ),
            )
        cands = q.add_candidates(
            s,
            candidates=[
                Candidate(
                    bot="sky",
                    text=p.text,
                    adapter_version=1 if k <= N // 2 else 2,
                    status=CandidateStatus.CHOSEN,
                )
                for k, p in enumerate(posts, start=1)
            ],
        )
        for post, cand in zip(posts, cands, strict=True):
            key = f"sky:{cand.id}"
            q.enqueue_publication(
                s,
                publication=Publication(
                    idempotency_key=key, bot="sky", text=post.text, candidate_id=cand.id
                ),
            )
            q.transition_publication(s, idempotency_key=key, status=PublicationStatus.SENT)
            q.transition_publication(
                s, idempotency_key=key, status=PublicationStatus.CONFIRMED, platform_post_id=post.id
            )
    engine.dispose()
    return tmp_path


def _chart(out: str) -> list[str]:
    """The chart's rows: from the top label's row to the axis row."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if "┤" in line)
    end = next(i for i, line in enumerate(lines) if "└" in line)
    return lines[start : end + 1]


def test_show_draws_the_learning_curve(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("bot", "show", "sky", "--width", "40")
    assert code == 0, err
    assert f"({N} posts, preset x" in out
    rows = _chart(out)
    assert len(rows) == 8 + 1  # 8 rows high and the axis
    bars = [row.split("┤", 1)[1] for row in rows[:-1]]
    assert all(len(b) == N for b in bars)  # one column per post (12 < 40)
    # rewards rise 0.1 .. 1.2: the last column reaches the top row, the first only the bottom
    assert bars[0][-1] in (BLOCKS[8], MEAN_MARK) and bars[0][0] == " "
    assert bars[-1][0] in (*BLOCKS[1:], MEAN_MARK) and bars[-2][0] == " "
    assert rows[0].lstrip().startswith("1.2") and rows[-2].lstrip().startswith("0")
    assert out.count(MEAN_MARK) >= N  # the moving mean, one dot per column
    # v1 sft starts at post 1, v2 rl at post 7: marked under the axis
    axis = rows[-1].split("└", 1)[1]
    assert axis[0] == "s" and axis[6] == "r" and axis.strip() == "s     r"
    assert "v2 rl from post 7, RM mean reward 0.9" in out
    assert "mean of the first 5 posts 0.3, of the last 5 1" in out


def test_show_without_rewards_says_so(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("bot", "show", "idle")
    assert code == 0
    assert "no rewards yet" in out and "┤" not in out


def test_show_json_and_png(cli, project: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    png = tmp_path / "out" / "sky.png"
    code, out, err = cli("bot", "show", "sky", "--json", "--plot", str(png))
    assert code == 0, err
    curve = json.loads(out)["learning_curve"]
    assert [p["reward"] for p in curve["points"]] == pytest.approx([k / 10 for k in range(1, 13)])
    assert [v["at_point"] for v in curve["versions"]] == [1, 7]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_text_chart_buckets_and_scales() -> None:
    # 100 values into 10 columns: each column is the mean of its 10 values
    rows = text_chart([float(k // 10) for k in range(100)], width=10, height=1)
    bar = rows[0].split("┤", 1)[1]
    assert len(bar) == 10
    assert bar == "".join(BLOCKS[max(1, round(c / 9 * 8))] for c in range(10))
    # a constant series still draws (no division by zero) and a negative one keeps its sign
    assert text_chart([0.0, 0.0], height=2)[1].endswith("┤▁▁")
    low = text_chart([-1.0, 1.0], height=2)
    assert low[0].lstrip().startswith("1") and low[1].lstrip().startswith("-1")
    with pytest.raises(ValueError, match="line values"):
        text_chart([1.0, 2.0], line=[1.0])
