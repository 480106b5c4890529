"""`vibeforge provenance POST_ID`: a post the loop published on the sandbox (tiny model, SQLite)
has its provenance recorded with the confirmation and read back by the command."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from vibeforge.learn.prompt import PROMPT_VERSION
from vibeforge.loop.cycle import run_round
from vibeforge.store import queries as q
from vibeforge.store import session_scope


@pytest.fixture
def published(tmp_path: Path):  # type: ignore[no-untyped-def]
    """(eco, runtime, post id) after the loop published skybot's first post."""
    from tests.loop.conftest import FAST, make_eco

    eco = make_eco(tmp_path / "home", config=dataclasses.replace(FAST, candidates=8))
    rt = eco.spec()
    try:
        for _ in range(3):
            report = run_round(rt, steps=("ingest", "learn", "act"))
            if report.act["skybot"].published:
                yield eco, rt, report.act["skybot"].published[0]
                return
            eco.sandbox.advance(hours=7)
        pytest.fail("skybot published nothing in 3 rounds")
    finally:
        eco.sandbox.stop()


def test_provenance_of_a_published_post(cli, published, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    eco, rt, post_id = published
    with session_scope(rt.engine) as s:
        pub = next(p for p in q.list_publications(s, bot="skybot") if p.platform_post_id == post_id)
        candidate = q.get_candidate(s, candidate_id=pub.candidate_id)
        versions = {v.version: v for v in q.list_adapter_versions(s, bot="skybot")}
    adapter = versions[candidate.adapter_version]
    weights = Path(adapter.path) / "adapter_model.safetensors"
    on_disk = hashlib.sha256(weights.read_bytes()).hexdigest()
    made_with_ai = eco.sandbox.world.store.one(
        "SELECT made_with_ai FROM posts WHERE id = ?", (int(post_id),)
    )[0]
    assert made_with_ai == 1  # the platform's own flag, set by the X client

    monkeypatch.setenv("VIBEFORGE_HOME", str(eco.home))
    code, out, err = cli("provenance", post_id, "--json")
    assert code == 0, err
    got = json.loads(out)
    assert got["post_id"] == post_id and got["platform"] == "x" and got["bot"] == "skybot"
    assert got["adapter_version"] == candidate.adapter_version
    assert got["adapter_sha256"] == adapter.sha256 == on_disk
    assert got["prompt_version"] == PROMPT_VERSION
    assert got["base_model"] == rt.bank().base.name
    assert got["ai_flag"] is True and got["ai_label"] == "made_with_ai"
    assert got["lineage"] is None  # skybot was not spawned from an elder
    assert got["publication_key"] == pub.idempotency_key
    assert got["removed_at"] is None
    with session_scope(rt.engine) as s:
        stored = next(p for p in q.list_posts(s, bot="skybot") if p.id == post_id)
    assert got["published_at"] == stored.created_at.isoformat()  # the platform's time

    code, out, _ = cli("provenance", post_id)
    assert code == 0 and on_disk[:16] in out and "made_with_ai" in out and PROMPT_VERSION in out

    # the post is deleted on the platform: compliance removes it and notes it in provenance
    eco.sandbox.delete_post(post_id)
    eco.sandbox.advance(hours=13)
    report = run_round(rt, steps=("compliance",))
    own = {c.scope: c for c in report.compliance}["bot:skybot"]
    assert own.removed == 1
    with session_scope(rt.engine) as s:
        assert post_id not in q.post_ids(s, platform="x", bot="skybot")
        assert not [r for r in q.list_rewards(s, bot="skybot") if r.post_id == post_id]
    code, out, _ = cli("provenance", post_id, "--json")
    assert code == 0 and json.loads(out)["removed_at"] is not None


def test_unknown_post_id_is_one_line_and_exit_1(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert cli("init")[0] == 0
    code, out, err = cli("provenance", "1234567890", "--json")
    assert code == 1 and out == ""
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "no published post '1234567890'" in lines[0], err
    assert "Traceback" not in err
