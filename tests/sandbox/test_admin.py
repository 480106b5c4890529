"""Admin routes over HTTP: accounts, clock, trends, truth, evaluate, reseed."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from vibeforge.sandbox.server import RunningSandbox, start_sandbox


@pytest.fixture
def admin(tmp_path) -> Iterator[tuple[RunningSandbox, httpx.Client]]:  # type: ignore[no-untyped-def]
    with (
        start_sandbox(home=tmp_path, world="tiny", seed=0, speed=0, members_per_niche=500) as sb,
        httpx.Client(base_url=sb.base_url, timeout=30) as c,
    ):
        c.headers["Authorization"] = f"Bearer {sb.admin_token}"
        yield sb, c


def test_admin_flow(admin) -> None:  # type: ignore[no-untyped-def]
    sb, c = admin
    made = c.post(
        "/admin/accounts", json={"username": "adminbot", "niche": "airlines", "followers": 50}
    )
    assert made.status_code == 201
    token = made.json()["token"]
    assert token.startswith(made.json()["id"] + "-")
    assert c.get("/admin/tokens/adminbot").json()["token"] == token
    user = {"Authorization": f"Bearer {token}"}
    pid = c.post(
        "/2/tweets", json={"text": "Which airport lounge is worth it?"}, headers=user
    ).json()["data"]["id"]
    assert (
        c.get(f"/2/users/{made.json()['id']}", params={"user.fields": "public_metrics"}).json()[
            "data"
        ]["public_metrics"]["followers_count"]
        == 50
    )

    one_h = c.post("/admin/clock/advance", json={"hours": 1}).json()["now"]
    m1 = c.get(
        "/2/tweets", params={"ids": pid, "tweet.fields": "public_metrics"}, headers=user
    ).json()["data"][0]["public_metrics"]
    c.post("/admin/clock/advance", json={"hours": 23})
    m24 = c.get(
        "/2/tweets", params={"ids": pid, "tweet.fields": "public_metrics"}, headers=user
    ).json()["data"][0]["public_metrics"]
    assert one_h.endswith("01:00:00.000Z")
    assert m24["impression_count"] > m1["impression_count"] > 0

    truth = c.get("/admin/truth", params={"ids": pid}).json()["data"][0]
    assert 0 <= truth["final"]["impressions"] - m24["impression_count"] <= 1  # 99.75% at 24 h
    assert truth["factors"]["question"] is True
    assert c.get("/admin/truth", params={"ids": pid}, headers=user).status_code == 403

    trend = c.post("/admin/trends", json={"niche": "airlines", "text": "jetblue", "in_hours": 1})
    assert trend.status_code == 201 and trend.json()["resampled_posts"] > 0
    assert c.get("/admin/trends").json()["data"][0]["text"] == "jetblue"
    bad = c.post("/admin/trends", json={"niche": "cooking", "text": "x"})
    assert bad.status_code == 400 and "niche" in bad.json()["errors"][0]["message"]

    ev = c.post(
        "/admin/evaluate",
        json={"texts": ["@JetBlue great flight", "bread recipe"], "author_id": made.json()["id"]},
    ).json()["data"]
    assert ev[0]["expected"]["like"] > ev[1]["expected"]["like"]

    old_admin = sb.admin_token
    reseeded = c.post(
        "/admin/world", json={"world": "tiny", "seed": 5, "overrides": {"members_per_niche": 300}}
    )
    assert reseeded.status_code == 201 and reseeded.json()["admin_token"] != old_admin
    c.headers["Authorization"] = f"Bearer {reseeded.json()['admin_token']}"
    info = c.get("/admin/world").json()
    assert info["seed"] == 5 and info["members"] == 600
    assert c.get("/2/users/me", headers=user).status_code == 401  # the old world's tokens are gone
