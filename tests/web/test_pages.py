"""The dashboard over a filled store, in-process: every page, the token, CSRF, errors."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from vibeforge.domain import CandidateStatus
from vibeforge.web import DashboardOptions, create_app

from .conftest import TOKEN, StoreFacts

PAGES = [
    "/",
    "/bots/skybot",
    "/bots/fruitbot",
    "/bots/quietbot",
    "/trends",
    "/trends/airlines",
    "/trends/apple",
    "/distill",
    "/approvals",
    "/ledger",
    "/login",
]


@pytest.fixture
def client(engine, filled: StoreFacts):  # type: ignore[no-untyped-def]
    app = create_app(
        engine=engine,
        token=TOKEN,
        options=DashboardOptions(embeddings=False),
        trend_events=lambda niche: [e for e in filled.events if e.niche == niche],
    )
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        yield c


def _login(client: TestClient) -> None:
    r = client.post("/login", data={"token": TOKEN, "next": "/approvals"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/approvals"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def test_every_page_renders_and_references_only_local_assets(client: TestClient) -> None:
    for path in PAGES:
        r = client.get(path)
        assert r.status_code == 200, (path, r.text[:500])
        assert "Content-Security-Policy" in r.headers
        refs = re.findall(r'(?:src|href|action)="([^"]+)"', r.text)
        assert refs and all(not ref.startswith(("http:", "https:", "//")) for ref in refs), path
    js = client.get("/static/vendor/chartjs/chart.umd.min.js")
    assert js.status_code == 200 and "Chart.js v4" in js.text[:200]
    assert client.get("/static/charts.js").status_code == 200


def test_pages_show_the_stored_facts(client: TestClient, filled: StoreFacts) -> None:
    home = client.get("/").text
    for bot in filled.bots:
        assert f'href="/bots/{bot}"' in home
    # skybot: 5 posts, mean (4..8 likes + 1 reply, s0 re-observed at 9 likes) over 50-80 impressions
    assert "elder-one" in home and "3 posts waiting for approval" in home
    bot = client.get("/bots/skybot").text
    assert "v3" in bot and "regurgitation" in bot and "longest_shared=9" in bot
    assert "weighted_length=300" in bot
    assert '"label": "reward"' in bot  # the reward chart's data
    assert "the #strike means my connecting flight is a rumor" in bot
    niche = client.get("/trends/airlines").text
    assert filled.trend_term in niche and "pilot strike" in niche
    assert f"{filled.capture_lag_h:.1f} h" in niche  # time-to-capture against the event
    assert "trend event" in niche  # the event marked on the drift charts
    distill = client.get("/distill").text
    assert filled.elder in distill and f"/bots/{filled.spawned}" in distill
    approvals = client.get("/approvals").text
    for text in filled.queued:
        assert text in approvals
    assert "log in" in approvals and "Approve</button>" not in approvals  # read-only until login
    ledger = client.get("/ledger").text
    assert f"${filled.total_cost:,.4f}" in ledger and "shared (timeline polls)" in ledger


def test_engagement_against_niche_is_computed_from_latest_metrics(client: TestClient) -> None:
    html = client.get("/").text
    row = html[html.index('href="/bots/skybot"') :].split("</tr>")[0]
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    # latest observations: s0 9/80, s1 17/90, s2 18/90 (24 h), s3 8/50, s4 9/50; humans 3/100
    assert cells[1] == f"{61 / 5:.2f}" and cells[2] == "3.00"
    assert cells[3] == f"{100 * 61 / 360:.2f}%" and cells[4] == "3.00%"


def test_spread_cascades_and_growth_with_age(client: TestClient) -> None:
    niche = client.get("/trends/airlines").text
    spread = niche[niche.index("<h2>Spread</h2>") : niche.index("<h2>Language shift")]
    # h0-0 quoted by c1 (quoted by c2) and replied to by c3: 4 nodes, no reposts, depth 2,
    # breadth 2, pairwise distances 1+1+2+2+1+3 over 6 pairs
    assert re.search(
        r"<code>h0-0</code></td><td class=\"num\">4</td><td class=\"num\">0</td>"
        r"<td class=\"num\">2</td>"
        r"<td class=\"num\">2</td><td class=\"num\">1.67</td>",
        spread,
    ), spread
    bot = client.get("/bots/skybot").text
    growth = bot[bot.index("How engagement grows with age") : bot.index("Guard rejections")]
    rows = re.findall(r"<tr><td>([\d.]+) h</td>((?:<td class=\"num\">[^<]*</td>)+)</tr>", growth)
    table = {age: re.findall(r">([^<]*)<", cells)[::2] for age, cells in rows}
    # at 1 h all five posts: counts 5..9, shares 5/9, 6/17, 7/18, 8/8, 9/9
    assert table["1.0"] == ["5", "7.0", f"{100 * 5 / 9:.2f}%"]
    # at 24 h only s1 and s2 were read back: 17 and 18 likes, all of their final count
    assert table["24.0"] == ["2", "17.5", "100.00%"]


def test_state_changes_without_the_token_get_401(
    client: TestClient, filled: StoreFacts, engine
) -> None:  # type: ignore[no-untyped-def]
    cid = next(iter(filled.queued.values()))
    for path in [
        f"/approvals/{cid}/approve",
        f"/api/approvals/{cid}/approve",
        "/logout",
        "/anything",
    ]:
        r = client.post(path)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"] == "Bearer"
    assert (
        client.post(
            f"/api/approvals/{cid}/approve", headers={"Authorization": "Bearer nope-nope"}
        ).status_code
        == 401
    )
    assert client.put("/approvals").status_code == 401 and client.delete("/").status_code == 401
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    with session_scope(engine) as s:
        assert {c.id for c in q.list_candidates(s, status=CandidateStatus.QUEUED)} == set(
            filled.queued.values()
        )


def test_bearer_token_approves_through_the_json_api(
    client: TestClient, filled: StoreFacts, engine
) -> None:  # type: ignore[no-untyped-def]
    cid = next(iter(filled.queued.values()))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    r = client.post(f"/api/approvals/{cid}/approve", headers=auth)
    assert r.status_code == 200 and r.json()["idempotency_key"].endswith(f":{cid}")
    again = client.post(f"/api/approvals/{cid}/approve", headers=auth)
    assert again.status_code == 409 and "not queued" in again.json()["error"]
    assert [c["id"] for c in client.get("/api/approvals").json()] == sorted(
        list(filled.queued.values())[1:]
    )
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    with session_scope(engine) as s:
        [pub] = [p for p in q.list_publications(s) if p.candidate_id == cid]
        assert pub.status.value == "pending"


def test_cookie_session_needs_csrf_and_same_origin(client: TestClient, filled: StoreFacts) -> None:
    texts = list(filled.queued)
    first, second = filled.queued[texts[0]], filled.queued[texts[1]]
    _login(client)
    page = client.get("/approvals")
    csrf = _csrf(page.text)
    assert TOKEN not in page.text  # the token itself is never rendered
    assert client.post(f"/approvals/{first}/approve", data={}).status_code == 403
    assert client.post(f"/approvals/{first}/approve", data={"csrf": "0" * 64}).status_code == 403
    evil = client.post(
        f"/approvals/{first}/approve",
        data={"csrf": csrf},
        headers={"Origin": "http://evil.example"},
    )
    assert evil.status_code == 403
    r = client.post(f"/approvals/{first}/approve", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    after = client.get(r.headers["location"]).text
    assert f"approved {first}" in after and f'id="candidate-{first}"' not in after
    r = client.post(
        f"/approvals/{second}/reject",
        data={"csrf": csrf},
        headers={"Origin": "http://127.0.0.1:8000"},
    )
    assert r.status_code == 200 and f"rejected {second}" in r.text
    client.post("/logout", data={"csrf": csrf})
    assert client.post(f"/approvals/{second}/approve", data={"csrf": csrf}).status_code == 401


def test_login_checks_the_token_and_sets_a_strict_cookie(client: TestClient) -> None:
    bad = client.post("/login", data={"token": "wrong-token", "next": "/"})
    assert bad.status_code == 401 and "wrong token" in bad.text
    r = client.post(
        "/login", data={"token": TOKEN, "next": "https://evil.example/"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and TOKEN.lower() not in cookie


def test_unknown_things_are_clear_errors(client: TestClient) -> None:
    r = client.get("/bots/nobody")
    assert r.status_code == 404 and "no bot named" in r.text
    assert client.get("/trends/nowhere").status_code == 404


def test_create_app_from_settings_uses_the_configured_token(
    db_url: str, filled: StoreFacts
) -> None:
    from vibeforge.config import Secrets, Settings

    settings = Settings(database_url=db_url, secrets=Secrets(dashboard_token=TOKEN))
    with TestClient(create_app(settings, options=DashboardOptions(embeddings=False))) as c:
        assert "skybot" in c.get("/").text
        cid = next(iter(filled.queued.values()))
        ok = c.post(f"/api/approvals/{cid}/reject", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.json() == {"candidate_id": cid, "status": "rejected"}
    with pytest.raises(ValueError, match="at least 8"):
        create_app(settings, token="short")
    with pytest.raises(ValueError, match="use 3600"):
        DashboardOptions(drift_window_s=0)


def test_stored_text_is_escaped(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    from vibeforge.domain import Candidate
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    evil = '<script>alert("x")</script><img src=x onerror=1>'
    with session_scope(engine) as s:
        q.add_candidates(
            s, candidates=[Candidate(bot="skybot", text=evil, status=CandidateStatus.QUEUED)]
        )
    html = client.get("/approvals").text
    assert evil not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_pages_on_an_empty_store(engine) -> None:  # type: ignore[no-untyped-def]
    from vibeforge.domain import Bot, Timeline, TimelineKind
    from vibeforge.store import queries as q
    from vibeforge.store import session_scope

    app = create_app(engine=engine, token=TOKEN, options=DashboardOptions(embeddings=False))
    with TestClient(app) as c:
        assert "No bots yet" in c.get("/").text
        assert "No timelines yet" in c.get("/trends").text
        assert "No elders distilled yet" in c.get("/distill").text
        assert "queue is empty" in c.get("/approvals").text
        assert "No API calls recorded yet" in c.get("/ledger").text
        with session_scope(engine) as s:
            q.create_timeline(s, timeline=Timeline(name="t", kind=TimelineKind.LIST, source="1"))
            q.create_bot(s, bot=Bot(name="b", timeline="t"))
        niche = c.get("/trends/t")
        assert niche.status_code == 200 and "No bursts detected" in niche.text
        bot = c.get("/bots/b").text
        assert "No rewards yet" in bot and "Nothing published yet" in bot
