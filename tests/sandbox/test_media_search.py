"""Posts that carry images, whichever face posted them (X's media upload through xdk, or a
Bluesky images embed through the atproto SDK): recent search's `has:media` (and `has:images`)
finds them and `-has:media` the others, through xdk and tweepy; the audience's media boost
applies to both."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from atproto import Client as AtClient
from tests.sandbox.conftest import make_png
from xdk import Client
from xdk.media.models import UploadRequest
from xdk.posts.models import CreateRequest
from xdk.schemas import CreatePostsMedia

from vibeforge.sandbox.server import RunningSandbox, start_sandbox
from vibeforge.sandbox.tweepy_adapter import attach

tweepy = pytest.importorskip("tweepy")
WORD = "zebracam"  # a word no world post holds
X_PICTURE = f"{WORD} sample shot, straight from the phone"
SKY_PICTURE = f"{WORD} night mode, posted from Bluesky"
PLAIN = f"{WORD} review coming soon"


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    home: Path = tmp_path_factory.mktemp("mediasearch")
    with start_sandbox(home=home, world="tiny", seed=0, speed=0) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def posted(sb: RunningSandbox) -> dict[str, str]:
    """The three posts, by text: their ids (the Bluesky one's as the X face numbers it)."""
    x = Client(base_url=sb.base_url, access_token=sb.create_account("xpics", niche="apple"))
    up = x.media.upload(
        UploadRequest(
            media=base64.b64encode(make_png(32, 24)).decode(), media_category="tweet_image"
        )
    )
    assert up.data is not None
    ids = {}
    for text, media in ((X_PICTURE, [up.data.id]), (PLAIN, None)):
        body = CreateRequest(text=text, media=CreatePostsMedia(media_ids=media) if media else None)
        created = x.posts.create(body)
        assert created.data is not None
        ids[text] = created.data.id
    sky = AtClient(base_url=sb.xrpc_url)
    sky.login(sb.handle("skypics"), sb.create_account("skypics", niche="apple"))
    sent = sky.send_image(SKY_PICTURE, image=make_png(16, 16, seed=3), image_alt="a dark square")
    row = sb.world.store.one(
        "SELECT post_id FROM at_records WHERE rkey = ?", (sent.uri.rsplit("/", 1)[1],)
    )
    ids[SKY_PICTURE] = str(row[0])
    return ids


def test_xdk_has_media_finds_the_posts_that_carry_an_image(
    sb: RunningSandbox, posted: dict[str, str]
) -> None:
    app = Client(base_url=sb.base_url, bearer_token=sb.app_token)

    def texts(query: str) -> set[str]:
        return {p.text for page in app.posts.search_recent(query=query) for p in page.data or []}

    assert texts(WORD) == {X_PICTURE, SKY_PICTURE, PLAIN}
    assert texts(f"{WORD} has:media") == {X_PICTURE, SKY_PICTURE}
    assert texts(f"{WORD} has:images") == {X_PICTURE, SKY_PICTURE}
    assert texts(f"{WORD} -has:media") == {PLAIN}
    assert texts(f"({WORD} has:media) OR (review -has:media {WORD})") == set(posted)
    assert texts(f"{WORD} has:videos") == set()


def test_tweepy_has_media_with_the_media_expansion(
    sb: RunningSandbox, posted: dict[str, str]
) -> None:
    c = attach(tweepy.Client(bearer_token=sb.app_token), sb.base_url)
    found = c.search_recent_tweets(
        f"{WORD} has:media -is:retweet",
        expansions=["attachments.media_keys"],
        media_fields=["type", "width", "height"],
    )
    assert {t.text for t in found.data} == {X_PICTURE, SKY_PICTURE}
    x_post = next(t for t in found.data if t.text == X_PICTURE)
    [media] = found.includes["media"]
    assert x_post.attachments["media_keys"] == [media.media_key]
    assert (media.type, media.width, media.height) == ("photo", 32, 24)
    others = c.search_recent_tweets(f"{WORD} -has:media").data
    assert [t.text for t in others] == [PLAIN]


def test_the_audience_boost_applies_to_bluesky_images_too(
    sb: RunningSandbox, posted: dict[str, str]
) -> None:
    def factors(text: str) -> dict[str, Any]:
        r = httpx.get(
            f"{sb.base_url}/admin/truth",
            params={"ids": posted[text]},
            headers={"Authorization": f"Bearer {sb.admin_token}"},
        )
        assert r.status_code == 200, r.text
        found: dict[str, Any] = r.json()["data"][0]["factors"]
        return found

    assert factors(SKY_PICTURE).get("media") is True
    assert factors(X_PICTURE).get("media") is True
    assert "media" not in factors(PLAIN)
