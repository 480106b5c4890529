"""The bot page shows each recent post's provenance (adapter and its sha256, prompt version,
elder, the platform's AI marking)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from vibeforge.domain import Provenance
from vibeforge.store import queries as q
from vibeforge.store import session_scope
from vibeforge.web import create_app
from vibeforge.web.options import DashboardOptions

from .conftest import T0, TOKEN, StoreFacts


def test_recent_posts_show_their_provenance(engine, filled: StoreFacts) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        q.record_provenance(
            s,
            provenance=Provenance(
                platform="x",
                post_id="s0",
                bot="skybot",
                publication_key="skybot:pub0",
                base_model="smollm2-135m",
                prompt_version="v2",
                published_at=T0,
                ai_flag=True,
                ai_label="made_with_ai",
                adapter_version=3,
                adapter_sha256="fe" * 32,
                lineage={"elder": "elder-one", "elder_version": 1},
            ),
        )
    app = create_app(engine=engine, token=TOKEN, options=DashboardOptions(embeddings=False))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        html = client.get("/bots/skybot").text
    posts = html[html.index("<h2>Recent posts</h2>") : html.index("How engagement grows")]
    row = next(r for r in posts.split("<tr>") if "vibeforge provenance s0" in r)
    assert "v3" in row and "fe" * 6 in row and "prompt v2" in row
    assert "elder elder-one" in row and "made_with_ai" in row
    others = [r for r in posts.split("<tr>")[2:] if "vibeforge provenance s0" not in r]
    assert others and all("made_with_ai" not in r for r in others)  # no record, no claim
