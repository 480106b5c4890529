"""What provenance records for a spawned bot: the elder lineage along the adapter's parents,
the base the adapter was saved on, and the platform client's AI marking."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from vibeforge.domain import (
    AdapterVersion,
    Bot,
    Candidate,
    CandidateStatus,
    PostRef,
    Publication,
)
from vibeforge.learn.prompt import PROMPT_VERSION
from vibeforge.loop.provenance import provenance_for
from vibeforge.platforms.bluesky import BlueskyClient
from vibeforge.platforms.x import XClient
from vibeforge.store import queries as q
from vibeforge.store import session_scope

T0 = datetime(2026, 10, 1, tzinfo=UTC)
LINEAGE = {"elder": "elder-one", "elder_version": 3, "niches": ["airlines"]}


def test_a_spawned_bots_post_names_its_elder_and_base(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    v2 = tmp_path / "adapters" / "kid" / "v0002"
    v2.mkdir(parents=True)
    (v2 / "vibeforge.json").write_text(json.dumps({"base_model": "gemma3-270m"}))
    with session_scope(engine) as s:
        bot = q.create_bot(s, bot=Bot(name="kid", parent_elder="elder-one", account="kid"))
        for version, kind, parent, metrics in (
            (1, "spawn", None, {"lineage": LINEAGE}),
            (2, "sft", 1, {}),
        ):
            q.add_adapter_version(
                s,
                adapter=AdapterVersion(
                    bot="kid",
                    version=version,
                    path=str(v2.parent / f"v{version:04d}"),
                    sha256=f"{version:x}" * 64,
                    kind=kind,
                    parent=parent,
                    metrics=metrics,
                ),
            )
        (cand,) = q.add_candidates(
            s,
            candidates=[
                Candidate(bot="kid", text="hi", adapter_version=2, status=CandidateStatus.CHOSEN)
            ],
        )
        pub = q.enqueue_publication(
            s,
            publication=Publication(
                idempotency_key=f"kid:{cand.id}", bot="kid", text="hi", candidate_id=cand.id
            ),
        )
        ref = PostRef(id="77", text="hi", created_at=T0)
        with XClient(base_url="http://127.0.0.1:9") as x:
            record = provenance_for(s, bot=bot, pub=pub, ref=ref, platform=x, published_at=T0)
        quiet = BlueskyClient(base_url="http://127.0.0.1:9", label_bot=False)
        unlabelled = provenance_for(s, bot=bot, pub=pub, ref=ref, platform=quiet, published_at=T0)
    assert record.adapter_version == 2 and record.adapter_sha256 == "2" * 64
    assert record.lineage == {"spawn_version": 1, **LINEAGE}
    assert record.base_model == "gemma3-270m"  # the adapter's, not the bot row's default
    assert record.prompt_version == PROMPT_VERSION and record.published_at == T0
    assert (record.platform, record.ai_flag, record.ai_label) == ("x", True, "made_with_ai")
    assert unlabelled.platform == "bluesky" and not unlabelled.ai_flag
    assert unlabelled.ai_label is None
