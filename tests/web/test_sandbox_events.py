"""The dashboard marks trend events scheduled in the sandbox world under the home."""

from __future__ import annotations

from fastapi.testclient import TestClient

from vibeforge.config import load_settings
from vibeforge.domain import Timeline, TimelineKind
from vibeforge.store import make_engine, session_scope, upgrade
from vibeforge.store import queries as q
from vibeforge.web import DashboardOptions, create_app


def test_trend_events_come_from_the_sandbox_world(tmp_path) -> None:
    from vibeforge.sandbox import start_sandbox

    home = tmp_path / "home"
    with start_sandbox(home=home, world="tiny", seed=0, speed=0) as sb:
        lists = sb.list_ids()
        sb.world.add_trend(
            niche="airlines", text="delayed again", at_ms=sb.world.now_ms() + 7_200_000
        )
    settings = load_settings(env={"VIBEFORGE_HOME": str(home)})
    engine = make_engine(settings.db_url)
    upgrade(engine)
    with session_scope(engine) as s:  # a timeline named unlike the niche: matched by its list
        q.create_timeline(
            s, timeline=Timeline(name="flying", kind=TimelineKind.LIST, source=lists["airlines"])
        )
        q.create_timeline(
            s, timeline=Timeline(name="apple", kind=TimelineKind.LIST, source=lists["apple"])
        )
    app = create_app(settings, engine=engine, options=DashboardOptions(embeddings=False))
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        flying = c.get("/trends/flying")
        apple = c.get("/trends/apple")
    assert flying.status_code == 200 and "delayed again" in flying.text
    assert apple.status_code == 200 and "delayed again" not in apple.text
