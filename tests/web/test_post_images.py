"""The bot page shows which posts went out with an image (a thumbnail with its alt text), and
the dashboard serves that image from where the outbox kept it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.sandbox.conftest import make_png

from vibeforge.domain import Image, Publication, PublicationStatus
from vibeforge.store import images as stored_images
from vibeforge.store import queries as q
from vibeforge.store import session_scope
from vibeforge.web import create_app
from vibeforge.web.options import DashboardOptions

from .conftest import TOKEN, StoreFacts

CHART = Image(
    data=make_png(40, 30, seed=5), mime="image/png", alt="Line chart: #strike in airlines"
)


def _client(engine) -> TestClient:  # type: ignore[no-untyped-def]
    app = create_app(engine=engine, token=TOKEN, options=DashboardOptions(embeddings=False))
    return TestClient(app, base_url="http://127.0.0.1:8000")


def _confirmed(engine, key: str, post_id: str, image: Image) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        q.enqueue_publication(
            s, publication=Publication(idempotency_key=key, bot="skybot", text=f"post {key}")
        )
        stored_images.save_image(s, idempotency_key=key, image=image)
        q.transition_publication(s, idempotency_key=key, status=PublicationStatus.SENT)
        q.transition_publication(
            s, idempotency_key=key, status=PublicationStatus.CONFIRMED, platform_post_id=post_id
        )


def test_a_post_with_an_image_shows_its_thumbnail_and_alt_text(engine, filled: StoreFacts) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:  # s0 went out through the outbox row skybot:pub0
        stored_images.save_image(s, idempotency_key="skybot:pub0", image=CHART)
    with _client(engine) as client:
        html = client.get("/bots/skybot").text
        served = client.get("/bots/skybot/image", params={"post": "s0"})
    posts = html[html.index("<h2>Recent posts</h2>") : html.index("How engagement grows")]
    rows = posts.split("<tr>")[2:]
    [row] = [r for r in rows if "/image?post=s0" in r]
    assert '<img src="/bots/skybot/image?post=s0" alt="Line chart: #strike in airlines"' in row
    assert "image: Line chart: #strike in airlines" in row
    others = [r for r in rows if r is not row]
    assert others and all("<img" not in r and "/image?post=" not in r for r in others)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png" and served.content == CHART.data
    assert served.headers["x-content-type-options"] == "nosniff"


def test_the_image_route_serves_only_images_the_outbox_kept(engine, filled: StoreFacts) -> None:  # type: ignore[no-untyped-def]
    # a Bluesky post id holds a slash; a stored SVG (which can carry script) is never served
    _confirmed(engine, "skybot:sky", "did:plc:abc/3kx2", CHART)
    svg = Image(data=b"<svg onload='alert(1)'/>", mime="image/svg+xml", alt="x")
    _confirmed(engine, "skybot:svg", "s-svg", svg)
    with session_scope(engine) as s:  # and s0 shows no thumbnail that would not load
        stored_images.save_image(s, idempotency_key="skybot:pub0", image=svg)
    with _client(engine) as client:
        assert "<img" not in client.get("/bots/skybot").text
        assert client.get("/bots/skybot/image", params={"post": "s0"}).status_code == 404
        sky = client.get("/bots/skybot/image", params={"post": "did:plc:abc/3kx2"})
        assert sky.status_code == 200 and sky.content == CHART.data
        assert client.get("/bots/skybot/image", params={"post": "s-svg"}).status_code == 404
        assert client.get("/bots/skybot/image", params={"post": "s1"}).status_code == 404
        assert client.get("/bots/fruitbot/image", params={"post": "s0"}).status_code == 404
        assert client.get("/bots/nobot/image", params={"post": "s0"}).status_code == 404
