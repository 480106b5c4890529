"""Rounds of the loop against the sandbox with the tiny model, under both executors."""

from __future__ import annotations

import pytest

from vibeforge.domain import CandidateStatus, PublicationStatus
from vibeforge.loop.cycle import Stopped
from vibeforge.loop.executors import make_executor
from vibeforge.loop.runtime import STOP_FLAG
from vibeforge.store import make_engine, session_scope
from vibeforge.store import queries as q


def _published_on_sandbox(sb, handle: str) -> list[str]:
    uid = sb.world.store.one("SELECT id FROM users WHERE username = ?", (handle,))[0]
    return [r[0] for r in sb.world.store.all("SELECT text FROM posts WHERE author_id = ?", (uid,))]


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_rounds_ingest_learn_act_observe(eco, executor) -> None:
    ex = make_executor(executor, eco.spec, settings={"ray": {"num_cpus": 2}})
    try:
        first = ex.run_round()
        assert sum(r.stored for r in first.ingest) > 0
        steps = ["ingest", "compliance", "observe", "sft_and_reward_model", "rl", "act"]
        assert sorted(first.seconds) == sorted(steps)  # each step's time, under either executor
        assert all(t >= 0 for t in first.seconds.values()) and first.seconds["act"] > 0
        engine = make_engine(eco.spec.db_url)
        with session_scope(engine) as s:
            stored = q.list_posts(s, timeline="airlines")
            assert stored and all(
                p.author_id.startswith("p") or len(p.author_id) > 10 for p in stored
            )
            assert not any("@JetBlue" in p.text for p in stored)  # handles scrubbed at ingest
            for bot in ("skybot", "fruitbot"):
                assert q.latest_adapter_version(s, bot=bot) is not None  # SFT ran
                assert q.list_candidates(s, bot=bot)  # acted: candidates with guard verdicts
        for _ in range(3):
            eco.sandbox.advance(hours=7)
            ex.run_round()
        with session_scope(engine) as s:
            for bot in ("skybot", "fruitbot"):
                pubs = q.list_publications(s, bot=bot, statuses=[PublicationStatus.CONFIRMED])
                chosen = q.list_candidates(s, bot=bot, status=CandidateStatus.CHOSEN)
                assert chosen and all(c.guard for c in chosen)
                on_platform = _published_on_sandbox(eco.sandbox, bot)
                assert sorted(on_platform) == sorted(p.text for p in pubs)  # each exactly once
                assert len(set(on_platform)) == len(on_platform)
                assert q.list_rewards(s, bot=bot), "observe recorded rewards at the 1 h age"
                kinds = {v.kind for v in q.list_adapter_versions(s, bot=bot)}
                assert "sft" in kinds
    finally:
        ex.close()


def test_kill_switch_stops_a_round(eco) -> None:
    ex = make_executor("local", eco.spec)
    with session_scope(ex.runtime.engine) as s:
        q.set_flag(s, name=STOP_FLAG, value={"by": "test"})
    with pytest.raises(Stopped, match="kill switch"):
        ex.run_round()
