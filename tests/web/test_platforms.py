"""The dashboard names each bot's platform: a fleet may mix X, Bluesky and the sandbox's faces."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from vibeforge.domain import Bot, Timeline, TimelineKind
from vibeforge.store import queries as q
from vibeforge.store import session_scope
from vibeforge.web import DashboardOptions, create_app

from .conftest import TOKEN

LIST_URI = "at://did:plc:abcdefghijklmnopqrstuvwx/app.bsky.graph.list/3kabc"


def _platform_cell(page: str, bot: str) -> str:
    row = re.search(
        rf'<a href="/bots/{bot}">{bot}</a></td>\s*<td class="platform">([^<]*)</td>', page
    )
    assert row, page
    return row.group(1)


def test_the_bots_table_and_bot_page_show_each_bots_platform(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        for name, kind, source, platform in (
            ("air-x", TimelineKind.LIST, "1500000", "sandbox"),
            ("air-sky", TimelineKind.LIST, LIST_URI, "sandbox_bluesky"),
            ("real-sky", TimelineKind.HANDLES, "a.bsky.social", "bluesky"),
            ("real-x", TimelineKind.HANDLES, "delta", "x"),
        ):
            q.create_timeline(
                s, timeline=Timeline(name=name, kind=kind, source=source, platform=platform)
            )
        q.create_bot(s, bot=Bot(name="xbot", timeline="air-x", account="xbot"))
        q.create_bot(s, bot=Bot(name="skybot", timeline="air-sky", account="skybot.test"))
        q.create_bot(s, bot=Bot(name="bskybot", timeline="real-sky", account="b.bsky.social"))
        q.create_bot(s, bot=Bot(name="realx", timeline="real-x", account="realx"))
        q.create_bot(s, bot=Bot(name="loner"))
    app = create_app(engine=engine, token=TOKEN, options=DashboardOptions(embeddings=False))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        home = client.get("/").text
        assert "<th>platform</th>" in home
        assert _platform_cell(home, "xbot") == "sandbox (X API)"
        assert _platform_cell(home, "skybot") == "sandbox (Bluesky)"
        assert _platform_cell(home, "bskybot") == "Bluesky"
        assert _platform_cell(home, "realx") == "X"
        assert _platform_cell(home, "loner") == "-"  # no timeline, no platform
        page = client.get("/bots/skybot").text
        assert 'on <span class="platform">sandbox (Bluesky)</span> as @skybot.test' in page
        page = client.get("/bots/xbot").text
        assert 'on <span class="platform">sandbox (X API)</span> as @xbot' in page
