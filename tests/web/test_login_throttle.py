"""Wrong dashboard tokens are throttled per client address, on an injected monotonic clock."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from vibeforge.web import DashboardOptions, create_app
from vibeforge.web.security import LoginThrottle

from .conftest import TOKEN


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(tmp_path, clock: FakeClock):  # type: ignore[no-untyped-def]
    from vibeforge.store import make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'v.db'}")
    upgrade(engine)
    throttle = LoginThrottle(max_failures=5, window_s=300, lockout_s=60, clock=clock)
    yield create_app(
        engine=engine, token=TOKEN, options=DashboardOptions(embeddings=False), throttle=throttle
    )
    engine.dispose()


def _login(c: TestClient, token: str):  # type: ignore[no-untyped-def]
    return c.post("/login", data={"token": token, "next": "/"}, follow_redirects=False)


def test_wrong_tokens_lock_the_address_out_with_a_growing_backoff(app, clock) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        for _ in range(5):
            assert _login(c, "wrong-token").status_code == 401
        locked = _login(c, TOKEN)  # the right token too, during the lockout
        assert locked.status_code == 429 and "set-cookie" not in locked.headers
        assert locked.headers["retry-after"] == "60" and "try again in 60 s" in locked.text
        clock.now += 30
        assert _login(c, "wrong-token").headers["retry-after"] == "30"
        clock.now += 30  # the lockout is over: the right token works
        assert _login(c, TOKEN).status_code == 303

        # a right token resets the count: four more wrong ones do not lock
        for _ in range(4):
            assert _login(c, "wrong-token").status_code == 401
        assert _login(c, TOKEN).status_code == 303
        for _ in range(4):
            assert _login(c, "wrong-token").status_code == 401
        assert _login(c, TOKEN).status_code == 303

        # lockouts in a row grow: 60 s, then 120 s
        for _ in range(5):
            assert _login(c, "wrong-token").status_code == 401
        assert _login(c, TOKEN).headers["retry-after"] == "60"
        clock.now += 60
        for _ in range(5):
            assert _login(c, "wrong-token").status_code == 401
        assert _login(c, TOKEN).headers["retry-after"] == "120"
        clock.now += 119
        assert _login(c, TOKEN).status_code == 429
        clock.now += 1
        assert _login(c, TOKEN).status_code == 303


def test_wrong_failures_spread_over_the_window_do_not_lock(app, clock) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        for _ in range(10):
            assert _login(c, "wrong-token").status_code == 401
            clock.now += 100  # 5 failures never fall within 300 s
        assert _login(c, TOKEN).status_code == 303


def test_wrong_bearer_tokens_are_throttled_too(app, clock) -> None:  # type: ignore[no-untyped-def]
    wrong = {"Authorization": "Bearer nope-nope-nope"}
    right = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        for _ in range(3):
            assert c.post("/api/approvals/1/reject", headers=wrong).status_code == 401
        for _ in range(2):  # a page read with a Bearer header is a token attempt too
            assert c.get("/approvals", headers=wrong).status_code == 200
        r = c.post("/api/approvals/1/reject", headers=right)
        assert r.status_code == 429 and r.headers["retry-after"] == "60"
        assert "too many wrong tokens" in r.json()["error"]
        assert c.get("/approvals", headers=right).status_code == 429
        assert _login(c, TOKEN).status_code == 429  # one count per address, either way in
        assert c.get("/").status_code == 200  # reading without a token stays open
        clock.now += 60
        late = c.post("/api/approvals/1/reject", headers=right)  # past the token checks
        assert late.status_code == 409 and "candidate" in late.json()["error"]


def test_tracked_addresses_are_bounded(clock) -> None:  # type: ignore[no-untyped-def]
    throttle = LoginThrottle(max_failures=2, max_clients=3, clock=clock)
    for i in range(10):
        throttle.failure(f"10.0.0.{i}")
    assert throttle.tracked() == 3
    throttle.failure("10.0.0.9")  # the 2nd: locked
    assert throttle.retry_after("10.0.0.9") == 60 and throttle.retry_after("10.0.0.1") is None
    clock.now += 60 + 3600 + 1  # quiet for longer than forget_s: forgotten
    assert throttle.retry_after("10.0.0.9") is None
    with pytest.raises(ValueError, match="lockout_s"):
        LoginThrottle(lockout_s=0)
